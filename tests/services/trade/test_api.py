"""The TradeEngine REST contract: 201, 4xx naming the rule, isolation, 401, admin."""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from avd.services.trade.routes import routes
from avd.web.errors import EXCEPTION_HANDLERS
from tests.services.trade.conftest import Sim, Stack, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price


def http(stack: Stack) -> httpx.AsyncClient:
    app = Starlette(routes=routes(stack.trade), exception_handlers=EXCEPTION_HANDLERS)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rest_contract(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _a, ta = await stack.client("ra@example.com")
            _b, tb = await stack.client("rb@example.com")
            price = await sim_price(sim)
            stop = f"{price - Dec('1000.5')}"
            async with http(stack) as c:
                body = {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "MARKET",
                    "quote_amount": "100",
                    "stop_loss": stop,
                }
                r = await c.post("/trades/execute", json=body)
                assert r.status_code == 401 and r.json()["error"] == "unauthorized"

                r = await c.post("/trades/execute", json=body, headers=bearer(ta))
                assert r.status_code == 201, r.text
                t: dict[str, Any] = r.json()
                assert {
                    "id",
                    "status",
                    "symbol",
                    "side",
                    "quantity",
                    "entry_price",
                    "stop_loss",
                    "mode",
                } <= set(t)
                assert (t["status"], t["symbol"], t["side"], t["mode"]) == (
                    "open",
                    "BTCUSDT",
                    "BUY",
                    "paper",
                )
                assert Dec(t["entry_price"]) == price and Dec(t["stop_loss"]) == Dec(stop)

                bad = {**body, "stop_loss": f"{price + 10}"}
                r = await c.post("/trades/execute", json=bad, headers=bearer(ta))
                assert r.status_code == 422
                assert (
                    r.json()["error"] == "stop_loss_side"
                    and f"{(price + 10).normalize():f}" in r.json()["detail"]
                )

                # the cap is 100 % of the paper account's equity: 10 000 USDT less
                # the entry's 0.1 % commission, taken in BTC (the position and its
                # dust are marked at the unchanged price)
                bought = (Dec(100) / price).quantize(Dec("0.00001"), ROUND_DOWN)
                equity = Dec(10000) - bought * Dec("0.001") * price
                huge = {**body, "quote_amount": "50000"}
                r = await c.post("/trades/execute", json=huge, headers=bearer(ta))
                assert r.status_code == 422 and r.json()["error"] == "max_exposure_per_symbol"
                assert Dec(r.json()["numbers"]["cap"]) == equity.quantize(Dec("1e-8"))  # 8 decimals

                r = await c.post(
                    "/trades/execute", json={**body, "quantity": "1"}, headers=bearer(ta)
                )
                assert r.status_code == 422 and r.json()["error"] == "invalid_request"

                # isolation: b sees none of a's trades and cannot touch them
                r = await c.get("/trades/active", headers=bearer(tb))
                assert r.status_code == 200 and r.json()["trades"] == []
                r = await c.post(f"/trades/{t['id']}/close", headers=bearer(tb))
                assert r.status_code == 404
                r = await c.patch(
                    f"/trades/{t['id']}", json={"stop_loss": stop}, headers=bearer(tb)
                )
                assert r.status_code == 404

                r = await c.get("/trades/active", headers=bearer(ta))
                assert [x["id"] for x in r.json()["trades"]] == [t["id"]]

                tighter = f"{price - 500}"
                r = await c.patch(
                    f"/trades/{t['id']}", json={"stop_loss": tighter}, headers=bearer(ta)
                )
                assert r.status_code == 200 and Dec(r.json()["stop_loss"]) == Dec(tighter)
                r = await c.patch(
                    f"/trades/{t['id']}", json={"stop_loss": stop}, headers=bearer(ta)
                )
                assert r.status_code == 422 and r.json()["error"] == "stop_loss_loosen"

                r = await c.get("/risk/status", headers=bearer(ta))
                assert r.status_code == 200
                st = r.json()
                assert st["open_positions"] == 1
                assert Dec(st["equity"]) == equity.quantize(Dec("1e-8"))

                r = await c.post("/risk/kill-switch", json={"active": True}, headers=bearer(ta))
                assert r.status_code == 403

                r = await c.post(f"/trades/{t['id']}/close", headers=bearer(ta))
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "closed" and r.json()["close_reason"] == "manual"
                r = await c.post(f"/trades/{t['id']}/close", headers=bearer(ta))
                assert r.status_code == 409 and r.json()["error"] == "not_open"

                r = await c.get("/trades/history", headers=bearer(ta))
                assert next(x["status"] for x in r.json()["trades"]) == "closed"

                admin = bearer(stack.token(stack.admin_id, "admin"))
                r = await c.post("/risk/kill-switch", json={"active": True}, headers=admin)
                assert r.status_code == 200 and r.json() == {"active": True, "closed": []}
                r = await c.post("/trades/execute", json=body, headers=bearer(tb))
                assert r.status_code == 422 and r.json()["error"] == "kill_switch"
                r = await c.post("/risk/unblock", json={}, headers=admin)
                assert r.status_code == 200 and r.json() == {"unblocked": []}
        finally:
            await close_stack(stack)

    run(go())


def test_a_trade_shows_its_take_profit_levels_and_their_prices(sim: Sim, tmp_path: Path) -> None:
    """The trade's own levels, priced at entry ± R x initial risk (hand-worked)."""

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _a, ta = await stack.client("tp@example.com")
            price = await sim_price(sim)
            stop = price - Dec("500")
            async with http(stack) as c:
                body = {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "quote_amount": "100",
                    "stop_loss": f"{stop}",
                    "take_profits": [
                        {"r_multiple": "1.5", "fraction": "0.5"},
                        {"r_multiple": "3", "fraction": "0.5"},
                    ],
                }
                r = await c.post("/trades/execute", json=body, headers=bearer(ta))
                assert r.status_code == 201, r.text
                t = r.json()
                entry = Dec(t["entry_price"])
                risk = entry - stop
                assert [
                    (Dec(x["r_multiple"]), Dec(x["fraction"]), Dec(x["price"]))
                    for x in t["take_profits"]
                ] == [
                    (Dec("1.5"), Dec("0.5"), entry + Dec("1.5") * risk),
                    (Dec(3), Dec("0.5"), entry + 3 * risk),
                ]
                r = await c.get("/trades/active", headers=bearer(ta))
                (listed,) = r.json()["trades"]
                assert listed["take_profits"] == t["take_profits"]
        finally:
            await close_stack(stack)

    run(go())
