"""A trade request (:class:`TradeOrder`) and its stop plan.

The plan is the request's stop rules, else the client's bot parameters,
stored as JSON on the trade so that a restart restores the same
:class:`~avd.trading.StopPlan` into the stop tracker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from avd.domain.parameters import BotParameters
from avd.trading import StopPlan

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TradeOrder:
    """A trade to open (from the REST API or a signal), or a holding to sell."""

    symbol: str
    side: str
    type: str = "MARKET"
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    risk_percent: Decimal | None = None
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profits: tuple[tuple[Decimal, Decimal], ...] | None = None
    trailing_percent: Decimal | None = None
    break_even_after_r: Decimal | None = None
    leverage: Decimal = Decimal(1)
    #: a signal's decision price (its candle close): sizing and a percent
    #: stop use it instead of the latest stream price
    reference_price: Decimal | None = None
    #: a signal's candle close (ms): a paper MARKET order fills at the first
    #: trade after it (see :attr:`~avd.exchange.exchange.OrderRequest.after_ms`)
    after_ms: int | None = None
    #: the candle interval whose levels place a level stop or target (a signal's)
    interval: str = "1m"


def plan_json(order: TradeOrder, params: BotParameters) -> dict[str, Any]:
    """The stop plan of a trade: the request's rules, else the client's."""
    st = params.stops
    tps = (
        [[str(r), str(f)] for r, f in order.take_profits]
        if order.take_profits is not None
        else [[str(t.r_multiple), str(t.fraction)] for t in st.take_profit]
    )
    trail = order.trailing_percent if order.trailing_percent is not None else st.trailing_percent
    be = order.break_even_after_r if order.break_even_after_r is not None else st.break_even_after_r
    return {
        "trail_pct": None if trail is None else str(trail),
        "breakeven_after_r": None if be is None else str(be),
        "chandelier_k": None
        if st.chandelier_atr_multiple is None
        else str(st.chandelier_atr_multiple),
        "time_stop_ms": None if st.time_stop_minutes is None else st.time_stop_minutes * 60_000,
        "take_profits": tps,
    }


def stop_distance(price: Decimal, percent: Decimal, tick: Decimal) -> Decimal:
    """``percent`` of ``price``, up to a whole tick: how far a percent stop sits.

    The backtester computes the same distance in integer ticks (see
    ``pct_distance`` in ``core/src/backtest/engine.rs``).
    """
    return (price * percent / HUNDRED / tick).to_integral_value(ROUND_CEILING) * tick


def plan_from_json(raw: str) -> StopPlan | None:
    """The :class:`StopPlan` stored with a trade."""
    d = json.loads(raw or "{}")
    tps = [(Decimal(r), Decimal(f)) for r, f in d.get("take_profits") or []]
    rules = ("trail_pct", "breakeven_after_r", "chandelier_k", "time_stop_ms")
    if not tps and not any(d.get(k) for k in rules):
        return None
    return StopPlan(
        trail_pct=Decimal(d["trail_pct"]) if d.get("trail_pct") else None,
        breakeven_after_r=Decimal(d["breakeven_after_r"]) if d.get("breakeven_after_r") else None,
        chandelier_k=Decimal(d["chandelier_k"]) if d.get("chandelier_k") else None,
        time_stop_ms=int(d["time_stop_ms"]) if d.get("time_stop_ms") else None,
        take_profits=tps or None,
    )
