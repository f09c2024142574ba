"""REST endpoints under ``/api/v3`` (Binance's paths, parameters, weights and errors).

Parameters come from the query string and the form body (the query wins);
every reply carries ``X-MBX-USED-WEIGHT-1M``; every error is ``{code, msg}``.
This module holds the endpoint table and the request pipeline (faults,
weight, key, signature, timing); the handlers are in :mod:`.rest_market`
(public) and :mod:`.rest_account` (signed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import account_for, check_timing, verify
from .errors import BinanceError
from .matching import now_ms
from .rate_limit import weight
from .rest_account import (
    account,
    all_orders,
    cancel_open_orders,
    cancel_order,
    get_order,
    listen_key,
    listen_key_keepalive,
    my_trades,
    new_order,
    open_orders,
    test_order,
)
from .rest_market import (
    agg_trades,
    avg_price,
    book_ticker,
    depth,
    exchange_info_h,
    klines,
    ping,
    server_time,
    ticker_24hr,
    ticker_price,
    trades,
)
from .rest_params import Handler

if TYPE_CHECKING:
    from .runtime import Simulator

ALL_METHODS = ["GET", "POST", "PUT", "DELETE"]

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
