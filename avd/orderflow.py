"""Order flow from trades and from klines: ``avd.orderflow``.

Sides are exact: Binance's ``m`` flag ("is the buyer the market maker")
marks a taker **sell** when true (the seller crossed the spread) and a
taker **buy** when false.

* :func:`cvd`: cumulative volume delta after each trade,
  ``Σ (+qty if taker buy else -qty)``.
* :class:`OrderFlow` (a Rust class): streaming, one trade at a time
  (``update(time_ms, price, qty, is_buyer_maker)``), per candle of
  ``interval``: ``buy_volume``, ``sell_volume``, ``volume``, ``delta`` =
  buy - sell, ``cvd`` (running delta since the flow started, at the
  candle's last trade), ``imbalance`` = delta / volume (None without
  volume), ``buy_trades``/``sell_trades``, ``large_buys``/``large_sells``
  (trades with ``price·qty >= large_trade_notional``) and ``vpin`` at the
  candle's end. A trade in a later candle closes the current one (empty
  candles fill minutes without trades); ``flush(time_ms)`` closes candles
  that ended by ``time_ms``; a late trade (timed before the current candle)
  counts in the current one and in ``late_trades``.
* VPIN (Easley, López de Prado & O'Hara 2012): trades fill buckets of
  ``vpin_bucket_volume`` base volume (a trade is split across buckets),
  ``VPIN = Σ |V_sell - V_buy| / (n·V)`` over the last ``vpin_window``
  complete buckets; ``None`` until that many are complete.
* :func:`candle_delta` / :func:`candle_cvd`: from klines alone, a candle's
  delta is ``2·taker_buy_volume - volume`` (the trade-based delta of that
  candle, exactly), and its running sum. A missing taker-buy volume (NaN)
  gives a NaN delta; the CVD skips it.

Errors: arrays of different lengths, negative or infinite quantities and a
taker-buy volume above the volume raise :class:`ValueError` (as
:class:`avd.exceptions.InvalidInputError`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from avd import _core
from avd._core import OrderFlow
from avd.types import BoolArray, FloatArray, as_float_array

__all__ = ["OrderFlow", "candle_cvd", "candle_delta", "cvd"]


def _bool_array(name: str, value: Any) -> BoolArray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got {arr.ndim} dimensions")
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iub" or not np.isin(arr, (0, 1)).all():
            raise TypeError(f"`{name}` must hold booleans, got dtype {arr.dtype}")
        arr = arr.astype(np.bool_)
    return np.ascontiguousarray(arr)


def cvd(qty: Any, is_buyer_maker: Any) -> FloatArray:
    """Cumulative volume delta after each trade.

    Parameters
    ----------
    qty
        Trade quantities (base asset), >= 0.
    is_buyer_maker
        Binance's ``m`` per trade: true for a taker sell.

    Returns
    -------
    numpy.ndarray
        ``out[i] = Σ_{k<=i} (qty[k] if not is_buyer_maker[k] else -qty[k])``.
    """
    return _core.cvd(as_float_array("qty", qty), _bool_array("is_buyer_maker", is_buyer_maker))


def candle_delta(volume: Any, taker_buy_volume: Any) -> FloatArray:
    """Per-candle volume delta from klines: ``2 * taker_buy_volume - volume``.

    Parameters
    ----------
    volume
        The candles' base volume.
    taker_buy_volume
        The candles' taker-buy base volume (Binance's kline field 9); NaN
        where it is unknown.

    Returns
    -------
    numpy.ndarray
        Taker-buy minus taker-sell volume per candle (NaN where unknown).
    """
    return _core.candle_delta(
        as_float_array("volume", volume), as_float_array("taker_buy_volume", taker_buy_volume)
    )


def candle_cvd(volume: Any, taker_buy_volume: Any) -> FloatArray:
    """Cumulative sum of :func:`candle_delta` (NaN rows add nothing and stay NaN).

    Parameters
    ----------
    volume
        The candles' base volume.
    taker_buy_volume
        The candles' taker-buy base volume; NaN where it is unknown.

    Returns
    -------
    numpy.ndarray
        The CVD at each candle's close, since the first candle.
    """
    return _core.candle_cvd(
        as_float_array("volume", volume), as_float_array("taker_buy_volume", taker_buy_volume)
    )
