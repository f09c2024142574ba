"""The streaming indicators: one bar at a time in O(1), the same values as the batch functions.

Rust classes of :mod:`avd._core`, re-exported here.
"""

from __future__ import annotations

from avd._core import (
    Adx,
    Atr,
    BBands,
    Donchian,
    Ema,
    Macd,
    Obv,
    Roc,
    Rsi,
    Sma,
    StdDev,
    Stoch,
    Vwap,
    Wma,
    ZScore,
)

__all__ = [
    "Adx",
    "Atr",
    "BBands",
    "Donchian",
    "Ema",
    "Macd",
    "Obv",
    "Roc",
    "Rsi",
    "Sma",
    "StdDev",
    "Stoch",
    "Vwap",
    "Wma",
    "ZScore",
]
