"""The trade engine's Rust hot path: fill model, stop tracker, position sizing.

Everything here runs in ``avd._core``; this module re-exports it and adds
the glue to Binance's ``exchangeInfo``.

Money never crosses the boundary as a float: prices, quantities, fees and
equity go in as :class:`decimal.Decimal` (or decimal strings / ints) and come
back as :class:`decimal.Decimal`. Inside Rust a price is an integer number of
ticks (``tickSize``) and a quantity an integer number of steps (``stepSize``).

- :class:`SymbolFilters` — PRICE_FILTER, LOT_SIZE and NOTIONAL in integer
  units; rounding (quantities down to the step, limit prices in the passive
  direction) and :meth:`SymbolFilters.check`, which names the violated
  filter and the numbers.
- :class:`FillModel` — the fill model shared by the backtester, the paper
  exchange and the simulator: maker/taker fees (Binance spot's 0.1%/0.1% by
  default, BNB discount optional; a BUY pays in the base asset, a SELL in
  the quote asset, rounded up to 8 decimals), slippage (fixed bps, or
  ``min(cap, impact * qty / bar volume)``), latency (an order sent at ``t``
  fills at the first price at or after ``t + latency_ms``) and the intrabar
  path (``"direction"``: a bullish candle goes open → low → high → close, a
  bearish one open → high → low → close; or ``"high_first"``,
  ``"low_first"``, ``"nearest_first"``). Limit orders fill as maker at the
  limit once the price trades through it (``limit_fill="touch"`` to accept a
  touch), partially when ``max_volume_share_bps`` caps a bar's share.
  :meth:`FillModel.execute` runs an order over a path;
  :meth:`FillModel.submit` returns a :class:`SimOrder` fed one price or
  candle at a time (the paper exchange).
- :class:`StopTracker` and :class:`StopPlan` — fixed, trailing (percent from
  the peak, chandelier ``peak - k * ATR``), break-even after N*R, partial
  take-profits at multiples of R and time stops, for thousands of positions;
  emits :class:`StopMoved`, :class:`PositionReduced` and :class:`PositionClosed`
  (named apart from the domain events ``SLAdjusted`` and ``TradeClosed`` of
  :mod:`avd.domain.events`, which the trade service publishes from them).
  A stop only ever moves in the position's favour.
- :func:`size_position` — ``equity * risk% / |entry - stop|`` rounded down to
  the step, capped by maxQty, maxNotional, a max position notional and the
  cash; a refusal names the rule and the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from avd._core import (
    Execution,
    Fill,
    FillModel,
    FilterViolation,
    PositionClosed,
    PositionReduced,
    PositionSize,
    PositionState,
    SimOrder,
    StopMoved,
    StopPlan,
    StopTracker,
    SymbolFilters,
    size_position,
)

__all__ = [
    "Execution",
    "Fill",
    "FillModel",
    "FilterViolation",
    "PositionClosed",
    "PositionReduced",
    "PositionSize",
    "PositionState",
    "SimOrder",
    "StopEvent",
    "StopMoved",
    "StopPlan",
    "StopTracker",
    "SymbolFilters",
    "filters_from_exchange_info",
    "size_position",
]

StopEvent = StopMoved | PositionReduced | PositionClosed
"""Any event of the :class:`StopTracker`."""


def filters_from_exchange_info(symbol_info: Mapping[str, Any]) -> SymbolFilters:
    """Build :class:`SymbolFilters` from one symbol of Binance's ``exchangeInfo``.

    Reads ``PRICE_FILTER``, ``LOT_SIZE`` and ``NOTIONAL`` (or the older
    ``MIN_NOTIONAL``) from ``symbol_info["filters"]``; the values stay strings,
    so nothing passes through a float.

    Parameters
    ----------
    symbol_info
        One entry of ``exchangeInfo["symbols"]``.

    Raises
    ------
    InvalidParameterError
        When PRICE_FILTER or LOT_SIZE is missing or a value is invalid.
    """
    by_type = {f["filterType"]: f for f in symbol_info.get("filters", [])}
    price = by_type.get("PRICE_FILTER")
    lot = by_type.get("LOT_SIZE")
    if price is None or lot is None:
        from avd.exceptions import InvalidParameterError

        raise InvalidParameterError(
            f"{symbol_info.get('symbol', '?')}: exchangeInfo lacks PRICE_FILTER or LOT_SIZE"
        )
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
    return SymbolFilters(
        price["tickSize"],
        lot["stepSize"],
        min_qty=lot.get("minQty"),
        max_qty=lot.get("maxQty"),
        min_notional=notional.get("minNotional"),
        max_notional=notional.get("maxNotional"),
        min_price=price.get("minPrice"),
        max_price=price.get("maxPrice"),
    )
