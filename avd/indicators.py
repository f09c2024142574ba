"""Technical indicators over NumPy arrays, with TA-Lib's calling conventions.

Every function returns float64 arrays as long as its inputs, NaN through the
warm-up. The TA-Lib indicators (``sma`` ... ``donchian``) reproduce TA-Lib
0.6 bit for bit, including its handling of leading NaNs: computation starts
at the first bar whose inputs are all non-NaN. ``vwap`` and ``zscore`` are
AVD's own definitions. The work runs in Rust with the GIL released.

The streaming classes (``Sma``, ``Ema``, ... ``ZScore``) compute the same
values one bar at a time in O(1) and are re-exported from :mod:`avd._core`.

Errors: lists and other sequences are accepted; non-numeric input raises
:class:`TypeError`; multi-dimensional input, arrays of different lengths and
out-of-range parameters raise :class:`ValueError` (the latter two as
:class:`avd._core.InvalidInputError` and
:class:`avd._core.InvalidParameterError`).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avd import _core
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
from avd.types import as_float_array

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

Array = NDArray[np.float64]

# Python ints beyond the core's 64-bit range are clamped: a longer window than
# any series simply never warms up, and a hugely negative one is rejected.
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def _array(name: str, value: Any) -> Array:
    """Coerce one input series (see :func:`avd.types.as_float_array`)."""
    return as_float_array(name, value)


def _int(name: str, value: Any) -> int:
    """Validate an integer parameter (range checks are left to the core)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    return max(_I64_MIN, min(_I64_MAX, int(value)))


def _float(name: str, value: Any) -> float:
    """Validate a real-valued parameter (finiteness is checked by the core)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    return float(value)


def sma(x: Any, period: int) -> Array:
    """Compute the simple moving average (TA-Lib ``SMA``).

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 1 (1 returns the input; TA-Lib itself requires 2).

    Returns
    -------
    numpy.ndarray
        The average of the last ``period`` values, NaN for the first
        ``period - 1`` bars.
    """
    return _core.sma(_array("x", x), _int("period", period))


def ema(x: Any, period: int) -> Array:
    """Compute the exponential moving average (TA-Lib ``EMA``).

    Seeded with the simple average of the first ``period`` values, then
    smoothed with ``k = 2 / (period + 1)``.

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 1 (1 returns the input; TA-Lib itself requires 2).

    Returns
    -------
    numpy.ndarray
        The EMA, NaN for the first ``period - 1`` bars.
    """
    return _core.ema(_array("x", x), _int("period", period))


def wma(x: Any, period: int) -> Array:
    """Compute the linearly weighted moving average (TA-Lib ``WMA``).

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 1 (1 returns the input; TA-Lib itself requires 2).

    Returns
    -------
    numpy.ndarray
        Weights ``1..period`` from oldest to newest; NaN for the first
        ``period - 1`` bars.
    """
    return _core.wma(_array("x", x), _int("period", period))


def rsi(x: Any, period: int = 14) -> Array:
    """Compute Wilder's relative strength index (TA-Lib ``RSI``).

    Parameters
    ----------
    x
        Input series.
    period
        Smoothing period, >= 2.

    Returns
    -------
    numpy.ndarray
        RSI in [0, 100], NaN for the first ``period`` bars. A flat window
        reads 0, as in TA-Lib.
    """
    return _core.rsi(_array("x", x), _int("period", period))


def macd(x: Any, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Array, Array, Array]:
    """Compute the moving average convergence/divergence (TA-Lib ``MACD``).

    Parameters
    ----------
    x
        Input series.
    fast, slow, signal
        EMA periods, each >= 2; ``fast`` and ``slow`` are swapped if
        ``slow < fast``, as in TA-Lib.

    Returns
    -------
    tuple of numpy.ndarray
        ``(macd, signal, hist)``, all NaN for the first
        ``(slow - 1) + (signal - 1)`` bars.
    """
    return _core.macd(
        _array("x", x), _int("fast", fast), _int("slow", slow), _int("signal", signal)
    )


def atr(high: Any, low: Any, close: Any, period: int = 14) -> Array:
    """Compute Wilder's average true range (TA-Lib ``ATR``).

    Parameters
    ----------
    high, low, close
        Bar prices, all of the same length.
    period
        Smoothing period, >= 1 (1 gives the true range).

    Returns
    -------
    numpy.ndarray
        ATR, NaN for the first ``period`` bars.
    """
    return _core.atr(
        _array("high", high), _array("low", low), _array("close", close), _int("period", period)
    )


def bbands(
    x: Any, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0
) -> tuple[Array, Array, Array]:
    """Compute Bollinger Bands with an SMA middle band (TA-Lib ``BBANDS``).

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 2.
    nbdev_up, nbdev_dn
        Finite multipliers of the population standard deviation.

    Returns
    -------
    tuple of numpy.ndarray
        ``(upper, middle, lower)``, NaN for the first ``period - 1`` bars.
    """
    return _core.bbands(
        _array("x", x),
        _int("period", period),
        _float("nbdev_up", nbdev_up),
        _float("nbdev_dn", nbdev_dn),
    )


def stddev(x: Any, period: int, nbdev: float = 1.0) -> Array:
    """Compute the rolling population standard deviation (TA-Lib ``STDDEV``).

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 2.
    nbdev
        Finite multiplier.

    Returns
    -------
    numpy.ndarray
        ``nbdev * std``, NaN for the first ``period - 1`` bars; a variance
        below TA-Lib's 1e-14 reads as 0.
    """
    return _core.stddev(_array("x", x), _int("period", period), _float("nbdev", nbdev))


def obv(close: Any, volume: Any) -> Array:
    """Compute the on-balance volume (TA-Lib ``OBV``).

    Parameters
    ----------
    close, volume
        Closes and volumes, of the same length.

    Returns
    -------
    numpy.ndarray
        OBV, starting at the first bar's volume.
    """
    return _core.obv(_array("close", close), _array("volume", volume))


def adx(high: Any, low: Any, close: Any, period: int = 14) -> Array:
    """Compute Wilder's average directional index (TA-Lib ``ADX``).

    Parameters
    ----------
    high, low, close
        Bar prices, all of the same length.
    period
        Smoothing period, >= 2.

    Returns
    -------
    numpy.ndarray
        ADX, NaN for the first ``2 * period - 1`` bars.
    """
    return _core.adx(
        _array("high", high), _array("low", low), _array("close", close), _int("period", period)
    )


def plus_di(high: Any, low: Any, close: Any, period: int = 14) -> Array:
    """Compute the plus directional indicator (TA-Lib ``PLUS_DI``).

    Parameters
    ----------
    high, low, close
        Bar prices, all of the same length.
    period
        Smoothing period, >= 1. As in TA-Lib, ``period=1`` returns the raw
        ratio ``+DM / TR`` without the factor 100.

    Returns
    -------
    numpy.ndarray
        +DI, NaN for the first ``period`` bars.
    """
    return _core.plus_di(
        _array("high", high), _array("low", low), _array("close", close), _int("period", period)
    )


def minus_di(high: Any, low: Any, close: Any, period: int = 14) -> Array:
    """Compute the minus directional indicator (TA-Lib ``MINUS_DI``).

    Parameters
    ----------
    high, low, close
        Bar prices, all of the same length.
    period
        Smoothing period, >= 1. As in TA-Lib, ``period=1`` returns the raw
        ratio ``-DM / TR`` without the factor 100.

    Returns
    -------
    numpy.ndarray
        -DI, NaN for the first ``period`` bars.
    """
    return _core.minus_di(
        _array("high", high), _array("low", low), _array("close", close), _int("period", period)
    )


def stoch(
    high: Any, low: Any, close: Any, fastk: int = 5, slowk: int = 3, slowd: int = 3
) -> tuple[Array, Array]:
    """Compute the slow stochastic oscillator (TA-Lib ``STOCH``, SMA smoothing).

    Parameters
    ----------
    high, low, close
        Bar prices, all of the same length.
    fastk, slowk, slowd
        Fast %K window and the two SMA smoothing periods, each >= 1.

    Returns
    -------
    tuple of numpy.ndarray
        ``(slowk, slowd)``, both NaN for the first
        ``(fastk - 1) + (slowk - 1) + (slowd - 1)`` bars.
    """
    return _core.stoch(
        _array("high", high),
        _array("low", low),
        _array("close", close),
        _int("fastk", fastk),
        _int("slowk", slowk),
        _int("slowd", slowd),
    )


def roc(x: Any, period: int = 10) -> Array:
    """Compute the rate of change in percent (TA-Lib ``ROC``).

    Parameters
    ----------
    x
        Input series.
    period
        Distance in bars, >= 1.

    Returns
    -------
    numpy.ndarray
        ``(x / x[t - period] - 1) * 100`` (0 where the old value is 0), NaN
        for the first ``period`` bars.
    """
    return _core.roc(_array("x", x), _int("period", period))


def donchian(high: Any, low: Any, period: int) -> tuple[Array, Array]:
    """Compute the Donchian channel (TA-Lib ``MAX(high)`` and ``MIN(low)``).

    Parameters
    ----------
    high, low
        Bar highs and lows, of the same length.
    period
        Window length, >= 1 (TA-Lib's ``MAX``/``MIN`` require 2).

    Returns
    -------
    tuple of numpy.ndarray
        ``(upper, lower)``, NaN for the first ``period - 1`` bars.
    """
    return _core.donchian(_array("high", high), _array("low", low), _int("period", period))


def vwap(high: Any, low: Any, close: Any, volume: Any, period: int) -> Array:
    """Compute the rolling volume-weighted average price.

    ``sum(typical * volume) / sum(volume)`` over the last ``period`` bars,
    with ``typical = (high + low + close) / 3``. A window whose volumes are
    all zero reports the latest typical price. A bar with a non-finite field
    makes the output NaN while it is in the window.

    Parameters
    ----------
    high, low, close, volume
        Bar prices and volumes, all of the same length.
    period
        Window length, >= 1.

    Returns
    -------
    numpy.ndarray
        VWAP, NaN for the first ``period - 1`` bars.
    """
    return _core.vwap(
        _array("high", high),
        _array("low", low),
        _array("close", close),
        _array("volume", volume),
        _int("period", period),
    )


def zscore(x: Any, period: int) -> Array:
    """Compute the rolling z-score ``(x - mean) / std`` (population std).

    A window of identical values scores 0. A non-finite value makes the
    output NaN while it is in the window.

    Parameters
    ----------
    x
        Input series.
    period
        Window length, >= 2.

    Returns
    -------
    numpy.ndarray
        Z-score of each value against its window, NaN for the first
        ``period - 1`` bars.
    """
    return _core.zscore(_array("x", x), _int("period", period))
