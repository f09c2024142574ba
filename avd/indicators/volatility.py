"""Volatility and range over NumPy arrays: ATR, Bollinger Bands, std dev, Donchian, z-score.

TA-Lib's ``ATR``, ``BBANDS``, ``STDDEV`` and ``MAX``/``MIN``; ``zscore`` is
AVD's own definition.
"""

from __future__ import annotations

from typing import Any

from avd import _core
from avd.indicators._args import Array, float_arg, int_arg, series_arg

__all__ = ["atr", "bbands", "donchian", "stddev", "zscore"]


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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("period", period),
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
        series_arg("x", x),
        int_arg("period", period),
        float_arg("nbdev_up", nbdev_up),
        float_arg("nbdev_dn", nbdev_dn),
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
    return _core.stddev(series_arg("x", x), int_arg("period", period), float_arg("nbdev", nbdev))


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
        ``(upper, lower)``, NaN for the first ``period - 1`` bars: two views
        of one array of ``2 * len(high)`` values (one allocation per call).

    Notes
    -----
    Without a NaN in a column, its values are TA-Lib 0.8's bit for bit
    (which of ``+0.0`` and ``-0.0`` a window of tied zeros returns
    included); a column with a NaN follows TA-Lib's rescans, as the
    streaming ``Donchian`` does.
    """
    return _core.donchian(
        series_arg("high", high), series_arg("low", low), int_arg("period", period)
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
    return _core.zscore(series_arg("x", x), int_arg("period", period))
