"""The simulator's public market data endpoints.

ping, time, exchangeInfo, klines, depth, aggTrades, trades, avgPrice and the
tickers (24hr, price, bookTicker), from the replayed market.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import Account
from .errors import BinanceError, mandatory
from .exchange_info import exchange_info
from .market import SymbolMarket
from .matching import now_ms
from .numbers import fmt_units
from .rest_params import for_each_symbol, int_param, limit_param, symbol_param, symbols_param
from .series import INTERVAL_MS, rest_row

if TYPE_CHECKING:
    from .runtime import Simulator


def ping(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ping."""
    return {}


def server_time(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET time (wall clock)."""
    return {"serverTime": now_ms()}


def exchange_info_h(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET exchangeInfo."""
    if p.get("symbol"):
        rules = [sim.rules[symbol_param(sim, p).symbol]]
    else:
        sms = symbols_param(sim, p) or []
        rules = [sim.rules[sm.symbol] for sm in sms]
    return exchange_info(rules, now_ms(), sim.config.weight_limit)


def klines(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET klines / uiKlines."""
    sm = symbol_param(sim, p)
    interval = p.get("interval", "")
    if not interval:
        raise mandatory("interval")
    if interval not in INTERVAL_MS:
        raise BinanceError(-1120, "Invalid interval.")
    limit = limit_param(p, 500, 1000)
    if interval != sm.series.interval:
        return []  # only the recorded interval is replayed
    rows = sm.klines(int_param(p, "startTime"), int_param(p, "endTime"), limit)
    return [rest_row(k) for k in rows]


def depth(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET depth: the book of the last published diff (``--ticks``: see :mod:`.ticks`)."""
    limit = limit_param(p, 100, 5000)
    ticks = sim.ticks
    if ticks is not None and p.get("symbol", "").upper() == ticks.symbol:
        return ticks.depth(limit)
    sm = symbol_param(sim, p)
    bids, asks = sm.book.sides(limit)
    return {
        "lastUpdateId": sm.update_id,
        "bids": [[fmt_units(x), fmt_units(q)] for x, q in bids],
        "asks": [[fmt_units(x), fmt_units(q)] for x, q in asks],
    }


def agg_trades(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET aggTrades."""
    sm = symbol_param(sim, p)
    limit = limit_param(p, 500, 1000)
    rows = list(sm.aggs)
    from_id, start, end = int_param(p, "fromId"), int_param(p, "startTime"), int_param(p, "endTime")
    if from_id is not None:
        rows = [r for r in rows if r.a >= from_id][:limit]
    elif start is not None or end is not None:
        rows = [r for r in rows if (start is None or r.t >= start) and (end is None or r.t <= end)][
            :limit
        ]
    else:
        rows = rows[-limit:]
    return [
        {
            "a": r.a,
            "p": fmt_units(r.p),
            "q": fmt_units(r.q),
            "f": r.f,
            "l": r.l,
            "T": r.t,
            "m": r.m,
            "M": True,
        }
        for r in rows
    ]


def trades(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET trades (one per synthesized aggregate trade)."""
    sm = symbol_param(sim, p)
    limit = limit_param(p, 500, 1000)
    return [
        {
            "id": r.l,
            "price": fmt_units(r.p),
            "qty": fmt_units(r.q),
            "quoteQty": fmt_units(r.p * r.q // 100_000_000),
            "time": r.t,
            "isBuyerMaker": r.m,
            "isBestMatch": True,
        }
        for r in list(sm.aggs)[-limit:]
    ]


def avg_price(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET avgPrice (5 minutes)."""
    sm = symbol_param(sim, p)
    w = sm.window(sim.market.now, 5 * 60_000)
    price = w["q"] * 100_000_000 // w["v"] if w["v"] else w["last"]
    return {"mins": 5, "price": fmt_units(price), "closeTime": sim.market.now - 1}


def ticker_24hr(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/24hr (FULL or MINI)."""
    mini = p.get("type", "FULL") == "MINI"
    return for_each_symbol(sim, p, lambda sm: sim.ticker(sm, mini))


def ticker_price(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/price."""
    return for_each_symbol(sim, p, lambda sm: {"symbol": sm.symbol, "price": fmt_units(sm.price)})


def book_ticker(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/bookTicker (``--ticks``: the last recorded one of the recorded symbol)."""
    ticks = sim.ticks
    if ticks is not None and p.get("symbol", "").upper() == ticks.symbol:
        recorded = ticks.book_ticker()
        if recorded is not None:
            return recorded

    def one(sm: SymbolMarket) -> dict[str, str]:
        b, bq, ak, aq = sm.book.top()
        return {
            "symbol": sm.symbol,
            "bidPrice": fmt_units(b),
            "bidQty": fmt_units(bq),
            "askPrice": fmt_units(ak),
            "askQty": fmt_units(aq),
        }

    return for_each_symbol(sim, p, one)
