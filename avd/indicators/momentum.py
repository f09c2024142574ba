"""Momentum and trend strength over NumPy arrays: RSI, stochastic, ROC, ADX, +DI and -DI.

TA-Lib's ``RSI``, ``STOCH``, ``ROC``, ``ADX``, ``PLUS_DI`` and ``MINUS_DI``.
"""

from __future__ import annotations

from typing import Any

from avd import _core
from avd.indicators._args import Array, int_arg, series_arg

__all__ = ["adx", "minus_di", "plus_di", "roc", "rsi", "stoch"]


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
    return _core.rsi(series_arg("x", x), int_arg("period", period))


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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("fastk", fastk),
        int_arg("slowk", slowk),
        int_arg("slowd", slowd),
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
    return _core.roc(series_arg("x", x), int_arg("period", period))


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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("period", period),
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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("period", period),
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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("period", period),
    )
