"""REST endpoints under ``/api/v3`` (Binance's paths, parameters, weights and errors).

Parameters come from the query string and the form body (the query wins);
every reply carries ``X-MBX-USED-WEIGHT-1M``; every error is ``{code, msg}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .accounts import Account
from .auth import account_for, check_timing, verify
from .errors import BinanceError, invalid_symbol, mandatory
from .exchange_info import exchange_info
from .market import INTERVAL_MS, SymbolMarket, rest_row
from .matching import now_ms
from .numbers import ZERO, fmt_dec, fmt_units
from .orders import parse_new_order
from .rate_limit import weight

if TYPE_CHECKING:
    from .runtime import Simulator

ALL_METHODS = ["GET", "POST", "PUT", "DELETE"]
Handler = Callable[["Simulator", dict[str, str], Account | None], Any]

# auth: None = public, "key" = API key only, "signed" = key + signature + timestamp


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON."""
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(e: BinanceError, used: int | None = None) -> Response:
    """Binance's ``{code, msg}`` error."""
    headers = dict(e.headers)
    if used is not None:
        headers.setdefault("X-MBX-USED-WEIGHT-1M", str(used))
    return json_response({"code": e.code, "msg": e.msg}, e.status, headers)


def _symbol(sim: Simulator, params: dict[str, str]) -> SymbolMarket:
    s = params.get("symbol", "")
    if not s:
        raise mandatory("symbol")
    sm = sim.market.get(s.upper())
    if sm is None:
        raise invalid_symbol()
    return sm


def _symbols(sim: Simulator, params: dict[str, str]) -> list[SymbolMarket] | None:
    if params.get("symbol"):
        return None
    raw = params.get("symbols")
    if not raw:
        return list(sim.market.symbols.values())
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    out = []
    for n in names:
        sm = sim.market.get(str(n))
        if sm is None:
            raise invalid_symbol()
        out.append(sm)
    return out


def _int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return int(raw)


def _limit(params: dict[str, str], default: int, most: int) -> int:
    v = _int(params, "limit")
    return default if v is None else max(1, min(v, most))


# -- public ------------------------------------------------------------------


def ping(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ping."""
    return {}


def server_time(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET time (wall clock)."""
    return {"serverTime": now_ms()}


def exchange_info_h(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET exchangeInfo."""
    if p.get("symbol"):
        rules = [sim.rules[_symbol(sim, p).symbol]]
    else:
        sms = _symbols(sim, p) or []
        rules = [sim.rules[sm.symbol] for sm in sms]
    return exchange_info(rules, now_ms(), sim.config.weight_limit)


def klines(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET klines / uiKlines."""
    sm = _symbol(sim, p)
    interval = p.get("interval", "")
    if not interval:
        raise mandatory("interval")
    if interval not in INTERVAL_MS:
        raise BinanceError(-1120, "Invalid interval.")
    limit = _limit(p, 500, 1000)
    if interval != sm.series.interval:
        return []  # only the recorded interval is replayed
    rows = sm.klines(_int(p, "startTime"), _int(p, "endTime"), limit)
    return [rest_row(k) for k in rows]


def depth(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET depth: the book of the last published diff."""
    sm = _symbol(sim, p)
    limit = _limit(p, 100, 5000)
    bids, asks = sm.book.sides(sm.price, sm.update_id, limit)
    return {
        "lastUpdateId": sm.update_id,
        "bids": [[fmt_units(x), fmt_units(q)] for x, q in bids],
        "asks": [[fmt_units(x), fmt_units(q)] for x, q in asks],
    }


def agg_trades(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET aggTrades."""
    sm = _symbol(sim, p)
    limit = _limit(p, 500, 1000)
    rows = list(sm.aggs)
    from_id, start, end = _int(p, "fromId"), _int(p, "startTime"), _int(p, "endTime")
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
    sm = _symbol(sim, p)
    limit = _limit(p, 500, 1000)
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
    sm = _symbol(sim, p)
    w = sm.window(sim.market.now, 5 * 60_000)
    price = w["q"] * 100_000_000 // w["v"] if w["v"] else w["last"]
    return {"mins": 5, "price": fmt_units(price), "closeTime": sim.market.now - 1}


def _each(sim: Simulator, p: dict[str, str], fn: Callable[[SymbolMarket], Any]) -> Any:
    many = _symbols(sim, p)
    if many is None:
        return fn(_symbol(sim, p))
    return [fn(sm) for sm in many]


def ticker_24hr(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/24hr (FULL or MINI)."""
    mini = p.get("type", "FULL") == "MINI"
    return _each(sim, p, lambda sm: sim.ticker(sm, mini))


def ticker_price(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/price."""
    return _each(sim, p, lambda sm: {"symbol": sm.symbol, "price": fmt_units(sm.price)})


def book_ticker(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET ticker/bookTicker."""

    def one(sm: SymbolMarket) -> dict[str, str]:
        b, bq, ak, aq = sm.book.top(sm.price, sm.update_id)
        return {
            "symbol": sm.symbol,
            "bidPrice": fmt_units(b),
            "bidQty": fmt_units(bq),
            "askPrice": fmt_units(ak),
            "askQty": fmt_units(aq),
        }

    return _each(sim, p, one)


# -- account and orders --------------------------------------------------------


def account(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET account."""
    assert a is not None
    fee_m, fee_t = sim.config.maker_fee, sim.config.taker_fee
    omit = p.get("omitZeroBalances", "false").lower() == "true"
    balances = [
        {"asset": k, "free": fmt_dec(b.free), "locked": fmt_dec(b.locked)}
        for k, b in sorted(a.balances.items())
        if not (omit and b.free == ZERO and b.locked == ZERO)
    ]
    return {
        "makerCommission": int(fee_m * 10_000),
        "takerCommission": int(fee_t * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt_dec(fee_m),
            "taker": fmt_dec(fee_t),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": a.update_time,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": a.uid,
    }


def new_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST order."""
    assert a is not None
    return sim.matcher.place(a, parse_new_order(p, sim.rules))


def test_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST order/test: validate only."""
    assert a is not None
    return sim.matcher.place(a, parse_new_order(p, sim.rules), test=True)


def _order_ref(p: dict[str, str]) -> tuple[str | None, str | None]:
    oid, cid = p.get("orderId") or None, p.get("origClientOrderId") or None
    if oid is None and cid is None:
        raise mandatory("orderId")
    return oid, cid


def get_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET order."""
    assert a is not None
    sm = _symbol(sim, p)
    return sim.matcher.get(a, sm.symbol, *_order_ref(p)).query()


def cancel_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """DELETE order."""
    assert a is not None
    sm = _symbol(sim, p)
    oid, cid = _order_ref(p)
    return sim.matcher.cancel(a, sm.symbol, oid, cid, p.get("newClientOrderId") or None)


def open_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET openOrders."""
    assert a is not None
    sym = _symbol(sim, p).symbol if p.get("symbol") else None
    return [o.query() for o in sim.matcher.open_orders(a, sym)]


def cancel_open_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """DELETE openOrders."""
    assert a is not None
    return sim.matcher.cancel_all(a, _symbol(sim, p).symbol)


def all_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET allOrders."""
    assert a is not None
    return [o.query() for o in sim.matcher.all_orders(a, _symbol(sim, p).symbol, p)]


def my_trades(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET myTrades."""
    assert a is not None
    return sim.matcher.my_trades(a, _symbol(sim, p).symbol, p)


def listen_key(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST userDataStream (legacy listenKey; no stream behind it)."""
    return {"listenKey": secrets.token_hex(32)}


def listen_key_keepalive(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """PUT / DELETE userDataStream."""
    if not p.get("listenKey"):
        raise mandatory("listenKey")
    return {}


# (method, path, handler, auth)
ENDPOINTS: list[tuple[str, str, Handler, str | None]] = [
    ("GET", "ping", ping, None),
    ("GET", "time", server_time, None),
    ("GET", "exchangeInfo", exchange_info_h, None),
    ("GET", "klines", klines, None),
    ("GET", "uiKlines", klines, None),
    ("GET", "depth", depth, None),
    ("GET", "aggTrades", agg_trades, None),
    ("GET", "trades", trades, None),
    ("GET", "avgPrice", avg_price, None),
    ("GET", "ticker/24hr", ticker_24hr, None),
    ("GET", "ticker/price", ticker_price, None),
    ("GET", "ticker/bookTicker", book_ticker, None),
    ("GET", "account", account, "signed"),
    ("POST", "order", new_order, "signed"),
    ("POST", "order/test", test_order, "signed"),
    ("GET", "order", get_order, "signed"),
    ("DELETE", "order", cancel_order, "signed"),
    ("GET", "openOrders", open_orders, "signed"),
    ("DELETE", "openOrders", cancel_open_orders, "signed"),
    ("GET", "allOrders", all_orders, "signed"),
    ("GET", "myTrades", my_trades, "signed"),
    ("POST", "userDataStream", listen_key, "key"),
    ("PUT", "userDataStream", listen_key_keepalive, "key"),
    ("DELETE", "userDataStream", listen_key_keepalive, "key"),
]


def _endpoint(
    sim: Simulator, table: dict[str, tuple[Handler, str | None]], path: str
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        entry = table.get(request.method)
        if entry is None:
            return error_response(BinanceError(-1000, "Unsupported method.", 405))
        handler, auth = entry
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        raw_body = (await request.body()).decode("utf-8", "replace")
        params = dict(parse_qsl(raw_body, keep_blank_values=True))
        params.update(parse_qsl(raw_query, keep_blank_values=True))
        ip = request.client.host if request.client else "127.0.0.1"
        used: int | None = None
        try:
            fault = sim.faults.http(request.url.path)
            if fault is not None:
                status, retry = fault
                if status in (429, 418):
                    raise BinanceError(
                        -1003,
                        "Too much request weight used (simulated fault).",
                        status,
                        {"Retry-After": str(retry)},
                    )
                raise BinanceError(
                    -1001,
                    "Internal error; unable to process your request. Please try again.",
                    status,
                    {"Retry-After": str(retry)},
                )
            used = sim.limiter.charge(ip, weight(request.method, path, params))
            acct = None
            if auth is not None:
                acct = account_for(sim.accounts, request.headers.get("x-mbx-apikey"))
            if auth == "signed":
                assert acct is not None
                verify(acct, raw_query, raw_body, params.get("signature"))
                if sim.faults.take("timestamp_errors"):
                    raise BinanceError(
                        -1021, "Timestamp for this request is outside of the recvWindow."
                    )
                check_timing(params, now_ms())
            body = handler(sim, params, acct)
        except BinanceError as e:
            return error_response(e, used)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if path in ("order", "order/test") and request.method == "POST":
            headers["X-MBX-ORDER-COUNT-10S"] = "1"
            headers["X-MBX-ORDER-COUNT-1D"] = "1"
        return json_response(body, headers=headers)

    return endpoint


def routes(sim: Simulator) -> list[Route]:
    """The ``/api/v3`` routes of ``sim``."""
    by_path: dict[str, dict[str, tuple[Handler, str | None]]] = {}
    for method, path, handler, auth in ENDPOINTS:
        by_path.setdefault(path, {})[method] = (handler, auth)
    return [
        Route(f"/api/v3/{path}", _endpoint(sim, table, path), methods=ALL_METHODS)
        for path, table in by_path.items()
    ]
