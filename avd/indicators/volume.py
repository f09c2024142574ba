"""Volume over NumPy arrays: on-balance volume (TA-Lib ``OBV``) and the rolling VWAP (AVD's own)."""

from __future__ import annotations

from typing import Any

from avd import _core
from avd.indicators._args import Array, int_arg, series_arg

__all__ = ["obv", "vwap"]


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
    return _core.obv(series_arg("close", close), series_arg("volume", volume))


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
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        series_arg("volume", volume),
        int_arg("period", period),
    )
