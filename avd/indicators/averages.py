"""Moving averages over NumPy arrays: TA-Lib's ``SMA``, ``EMA``, ``WMA`` and ``MACD``."""

from __future__ import annotations

from typing import Any

from avd import _core
from avd.indicators._args import Array, int_arg, series_arg

__all__ = ["ema", "macd", "sma", "wma"]


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

    Notes
    -----
    TA-Lib's running total, restarted from a fresh sum of the window every
    1,032 bars (or twice the period): within float64 rounding of the price
    of the exact mean of every window, however long the series. A window
    holding a NaN (or both infinities) reads NaN, one holding an infinity
    reads it, and the mean is back once they have left the window (TA-Lib
    keeps a NaN for good). ``Sma`` gives the same bits bar by bar.
    """
    return _core.sma(series_arg("x", x), int_arg("period", period))


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
    return _core.ema(series_arg("x", x), int_arg("period", period))


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

    Notes
    -----
    TA-Lib's running totals (the window's plain and weighted sums),
    restarted from fresh sums of the window every 1,032 bars (or twice the
    period), so the rounding does not drift however long the series; within
    1e-9 of TA-Lib 0.8 on the real data. A NaN reads NaN until the first
    restart after it left the window (TA-Lib keeps it for good). ``Wma``
    gives the same bits bar by bar.
    """
    return _core.wma(series_arg("x", x), int_arg("period", period))


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
        series_arg("x", x), int_arg("fast", fast), int_arg("slow", slow), int_arg("signal", signal)
    )
