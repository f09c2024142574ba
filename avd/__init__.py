"""AVD: a mid-frequency, directional trading platform for Binance spot.

The hot path (candle buffers, indicators, patterns, scoring, signals) is the
Rust extension :mod:`avd._core`; this package orchestrates around it.
"""

from __future__ import annotations

from avd._core import __version__

__all__ = ["__version__"]
