"""Decimals on the TradeEngine's wire: a paper trade opened and closed through the API.

Every decimal of every response is one canonical string for its kind (money
with 2 to 8 decimals, prices, quantities and percents plain); a decimal sent
as a JSON number is refused with the same 422 on every field.
"""

from __future__ import annotations

import copy
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import httpx
from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette

from avd.services.client.routes import routes as client_routes
from avd.services.trade import schemas as m
from avd.services.trade.routes import routes as trade_routes
from avd.web.errors import EXCEPTION_HANDLERS
from tests.services.trade.conftest import Sim, Stack, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price
from tests.web.canonical import NUMBER, check_decimals, number_types


def _http(stack: Stack) -> httpx.AsyncClient:
    app = Starlette(
        routes=[*client_routes(stack.clients), *trade_routes(stack.trade)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _with(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def test_a_paper_trade_through_the_api_shows_canonical_decimals(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _cid, token = await stack.client("wire@example.com")
            h = {"Authorization": f"Bearer {token}"}
            price = await sim_price(sim)
            seen = 0
            async with _http(stack) as c:

                async def call(method: str, path: str, status: int = 200, **kw: Any) -> Any:
                    nonlocal seen
                    r = await c.request(method, path, headers=h, **kw)
                    assert r.status_code == status, r.text
                    seen += check_decimals(r.json())
                    return r.json()

                body = {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "quote_amount": "100.00",
                    "stop_loss": f"{price - 1000:f}",
                    "trailing_percent": "5.0",
                }
                risk = await call("GET", "/risk/status")
                # nothing traded yet: the money zero, in its one form
                assert (risk["daily_pnl"], risk["exposure"]) == ("0.00", "0.00")
                assert risk["drawdown_percent"] == "0"
                t = await call("POST", "/trades/execute", 201, json=body)
                assert t["status"] == "open" and Dec(t["entry_price"]) == price
                await call("GET", "/trades/active")
                risk = await call("GET", "/risk/status")
                assert risk["open_positions"] == 1
                tighter = {"stop_loss": f"{price - 500:f}"}
                await call("PATCH", f"/trades/{t['id']}", json=tighter)
                closed = await call("POST", f"/trades/{t['id']}/close")
                assert closed["status"] == "closed" and closed["exit_price"] is not None
                await call("GET", "/trades/history")
                after = await call("GET", "/risk/status")
                assert Dec(after["daily_pnl"]) == Dec(closed["realized_pnl"])
                await stack.hub.drain()
                await call("GET", "/client/funds")
                await call("GET", "/client/history")
                await call("GET", "/client/parameters")
            assert seen >= 40
        finally:
            await close_stack(stack)

    run(go())


def test_a_json_number_is_refused_on_every_trade_field(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _cid, token = await stack.client("numbers@example.com")
            h = {"Authorization": f"Bearer {token}"}
            price = await sim_price(sim)
            stop = f"{price * Dec('0.98'):f}"
            market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}
            limit = {**market, "type": "LIMIT", "quantity": "0.001", "price": f"{price:f}"}
            tps = {"take_profits": [{"r_multiple": "2", "fraction": "0.5"}]}
            execute: list[tuple[dict[str, Any], tuple[str | int, ...]]] = [
                ({**market, "quantity": "0.001"}, ("quantity",)),
                ({**market, "quote_amount": "100"}, ("quote_amount",)),
                ({**market, "risk_percent": "1"}, ("risk_percent",)),
                (limit, ("price",)),
                ({**market, "quote_amount": "100", "stop_loss": stop}, ("stop_loss",)),
                ({**market, "trailing_percent": "1"}, ("trailing_percent",)),
                ({**market, "break_even_after_r": "1"}, ("break_even_after_r",)),
                ({**market, "leverage": "1"}, ("leverage",)),
                ({**market, **tps}, ("take_profits", 0, "r_multiple")),
                ({**market, **tps}, ("take_profits", 0, "fraction")),
            ]
            async with _http(stack) as c:
                r = await c.post(
                    "/trades/execute", json={**market, "quote_amount": "100"}, headers=h
                )
                assert r.status_code == 201, r.text
                amend = f"/trades/{r.json()['id']}"
                cases = [("/trades/execute", "POST", b, f) for b, f in execute] + [
                    (amend, "PATCH", {"stop_loss": stop}, ("stop_loss",)),
                    (amend, "PATCH", tps, ("take_profits", 0, "r_multiple")),
                    (amend, "PATCH", tps, ("take_profits", 0, "fraction")),
                ]
                for path, method, body, field in cases:
                    for number in (1, 0.5):
                        sent = _with(body, field, number)
                        r = await c.request(method, path, json=sent, headers=h)
                        loc = ".".join(str(p) for p in field)
                        assert r.status_code == 422, (sent, r.text)
                        assert r.json() == {
                            "error": "invalid_request",
                            "detail": f"{loc}: {NUMBER}",
                        }, r.text
                r = await c.get("/trades/active", headers=h)
                assert len(r.json()["trades"]) == 1  # none of them opened a trade
        finally:
            await close_stack(stack)

    run(go())


def test_the_trade_schemas_say_decimals_are_strings() -> None:
    requests = (m.ExecuteRequest, m.AmendRequest, m.Page, m.UnblockRequest, m.KillSwitchRequest)
    responses = (m.Trade, m.TradeList, m.RiskStatus, m.Unblocked, m.KillSwitch)
    _, doc = models_json_schema(
        [(r, "validation") for r in requests] + [(r, "serialization") for r in responses]
    )
    assert number_types(doc) == []
    trade = doc["$defs"]["Trade"]["properties"]
    for name in ("quantity", "stop_loss", "realized_pnl"):
        assert trade[name]["type"] == "string", name
    assert doc["$defs"]["ExecuteRequest"]["properties"]["quote_amount"]["anyOf"][0]["type"] == (
        "string"
    )
