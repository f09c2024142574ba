"""Technical indicators over NumPy arrays, with TA-Lib's calling conventions.

Every function returns float64 arrays as long as its inputs, NaN through the
warm-up. The TA-Lib indicators (``sma`` ... ``donchian``) follow TA-Lib's
definitions, including its handling of leading NaNs (computation starts at
the first bar whose inputs are all non-NaN), and equal TA-Lib 0.8 within
1e-9 of the series' scale; ``stddev``, ``bbands`` and ``zscore`` compute
the deviation stably, to the rounding of the price (TA-Lib 0.6's running
sum of squares lost it on large prices with small moves). ``vwap`` and
``zscore`` are AVD's own definitions. The work runs in Rust with the GIL
released.

The streaming classes (``Sma``, ``Ema``, ... ``ZScore``) compute the same
values one bar at a time in O(1) and are re-exported from :mod:`avd._core`.

Errors: lists and other sequences are accepted; non-numeric input raises
:class:`TypeError`; multi-dimensional input, arrays of different lengths and
out-of-range parameters raise :class:`ValueError` (the latter two as
:class:`avd._core.InvalidInputError` and
:class:`avd._core.InvalidParameterError`).

Import everything from here; the modules group the functions by family:
:mod:`.averages`, :mod:`.momentum`, :mod:`.volatility`, :mod:`.volume`, and
the classes in :mod:`.streaming`.
"""

from __future__ import annotations

from avd.indicators.averages import ema, macd, sma, wma
from avd.indicators.momentum import adx, minus_di, plus_di, roc, rsi, stoch
from avd.indicators.streaming import (
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
from avd.indicators.volatility import atr, bbands, donchian, stddev, zscore
from avd.indicators.volume import obv, vwap

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
    "adx",
    "atr",
    "bbands",
    "donchian",
    "ema",
    "macd",
    "minus_di",
    "obv",
    "plus_di",
    "roc",
    "rsi",
    "sma",
    "stddev",
    "stoch",
    "vwap",
    "wma",
    "zscore",
]
