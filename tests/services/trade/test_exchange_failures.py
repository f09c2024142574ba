"""An exchange that fails on an API path is a clear 502/503 JSON refusal, never a bare 500.

Driven for real: a live client trades on the simulator, whose fault
injection makes its order endpoint answer 503 (the order's fate unknown:
503 naming the exchange) or makes every signed request answer -1021 (an
exchange refusal the request could not foresee: 502). A close or a sale
that fails leaves the position open, tracked and protected by its stop on
the exchange; once the exchange is back, the same close goes through.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_api import bearer, http
from tests.services.trade.test_engine import sim_price


async def _orders(sim: Sim, prefix: str) -> dict[str, dict[str, Any]]:
    """The simulator's own record of the orders whose client order id starts with ``prefix``."""
    c = await sim.create()
    try:
        rows = await c.get_all_orders(symbol="BTCUSDT")
    finally:
        await c.close_connection()
    return {o["clientOrderId"]: o for o in rows if o["clientOrderId"].startswith(prefix)}


def test_a_close_the_exchange_fails_answers_503_or_502_and_keeps_the_position(
    sim: Sim, tmp_path: Path
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, token = await stack.client("down@example.com", mode="live")
            auth = bearer(token)
            price = await sim_price(sim)
            async with http(stack) as c:
                body = {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "quote_amount": "100",
                    "stop_loss": f"{price - 2000}",
                }
                r = await c.post("/trades/execute", json=body, headers=auth)
                assert r.status_code == 201, r.text
                trade = r.json()
                close = f"/trades/{trade['id']}/close"
                stop0 = stack.engine.oid(cid, trade["id"], "s0")
                assert (await _orders(sim, stop0))[stop0]["status"] == "NEW"

                # the order endpoint answers 503: the exit's fate is unknown
                sim.admin("faults", http_status=503, http_count=1000, http_path="/api/v3/order")
                try:
                    r = await c.post(close, headers=auth)
                finally:
                    sim.admin("faults", http_count=0)
                assert r.status_code == 503, r.text
                assert r.json() == {
                    "error": "status_unknown",
                    "detail": r.json()["detail"],
                    "numbers": {},
                    "service": "exchange",
                }
                assert "503" in r.json()["detail"]
                await _still_open_and_protected(stack, sim, cid, trade["id"], stop0, auth, c)

                # every signed request is refused (-1021): the exchange refused the exit
                sim.admin("faults", timestamp_errors=1000)
                try:
                    r = await c.post(close, headers=auth)
                finally:
                    sim.admin("faults", timestamp_errors=0)
                assert r.status_code == 502, r.text
                assert r.json()["error"] == "timestamp_outside_recv_window"
                assert "-1021" in r.json()["detail"] and r.json()["numbers"] == {}
                await _still_open_and_protected(stack, sim, cid, trade["id"], stop0, auth, c)

                # the exchange is back: the same close goes through, once
                r = await c.post(close, headers=auth)
                assert r.status_code == 200, r.text
                assert (r.json()["status"], r.json()["close_reason"]) == ("closed", "manual")
                orders = await _orders(sim, stack.engine.oid(cid, trade["id"], ""))
                assert orders[stop0]["status"] == "CANCELED"
                sold = [o for o in orders.values() if (o["type"], o["side"]) == ("MARKET", "SELL")]
                assert [o["status"] for o in sold] == ["FILLED"]
        finally:
            await close_stack(stack)

    run(go(), timeout=120)


async def _still_open_and_protected(
    stack: Any, sim: Sim, cid: int, trade_id: int, stop0: str, auth: dict[str, str], c: Any
) -> None:
    r = await c.get("/trades/active", headers=auth)
    assert [(t["id"], t["status"]) for t in r.json()["trades"]] == [(trade_id, "open")]
    assert trade_id in stack.engine.monitor.positions
    assert stack.engine.monitor.stop_of(trade_id) is not None
    orders = await _orders(sim, stack.engine.oid(cid, trade_id, ""))
    # the protective stop still works on the exchange, and nothing was sold
    assert orders[stop0]["status"] == "NEW"
    assert not [o for o in orders.values() if o["type"] == "MARKET" and o["side"] == "SELL"]


def test_a_sale_the_exchange_fails_is_a_503_and_sells_nothing(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, token = await stack.client("sale@example.com", mode="live")
            auth = bearer(token)
            price = await sim_price(sim)
            async with http(stack) as c:
                body = {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "quantity": "0.002",
                    "stop_loss": f"{price - 2000}",
                }
                r = await c.post("/trades/execute", json=body, headers=auth)
                assert r.status_code == 201, r.text
                held = Dec(r.json()["quantity"])
                sale = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001"}
                sim.admin("faults", http_status=503, http_count=1000, http_path="/api/v3/order")
                try:
                    r = await c.post("/trades/execute", json=sale, headers=auth)
                finally:
                    sim.admin("faults", http_count=0)
                assert r.status_code == 503, r.text
                assert (r.json()["error"], r.json()["service"]) == ("status_unknown", "exchange")
                r = await c.get("/trades/active", headers=auth)
                assert [Dec(t["open_quantity"]) for t in r.json()["trades"]] == [held]

                # back: the same sale goes through and leaves the rest protected
                r = await c.post("/trades/execute", json=sale, headers=auth)
                assert r.status_code == 200, r.text
                assert [Dec(t["open_quantity"]) for t in r.json()["trades"]] == [
                    held - Dec("0.001")
                ]
                tid = r.json()["trades"][0]["id"]
                stop1 = stack.engine.oid(cid, tid, "s1")
                assert (await _orders(sim, stop1))[stop1]["status"] == "NEW"
        finally:
            await close_stack(stack)

    run(go(), timeout=120)


def test_a_stop_hit_while_a_close_is_on_its_way_sells_once(sim: Sim, tmp_path: Path) -> None:
    # The close goes to the exchange before the tracker lets the position go;
    # a price through the stop meanwhile waits for it, then finds nothing to sell.
    from avd.domain.events import TradeClosed
    from avd.services.trade.plans import TradeOrder

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("race@example.com", mode="live")
            price = await sim_price(sim)
            t = await stack.engine.execute(
                cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(100), stop_loss=price - 2000)
            )
            closing = asyncio.create_task(stack.engine.close(cid, t.id))
            while t.id not in stack.engine.positions.close_reason:  # the exit is on its way
                assert not closing.done(), closing
                await asyncio.sleep(0)
            await stack.engine.on_tick("BTCUSDT", 10**13, price - 3000)  # through the stop
            closed = await closing
            await stack.hub.drain()
            assert (closed.status, closed.close_reason) == ("closed", "manual")
            events = [e for e in stack.events if isinstance(e, TradeClosed)]
            assert [(e.trade_id, e.reason) for e in events] == [(t.id, "manual")]
            orders = await _orders(sim, stack.engine.oid(cid, t.id, ""))
            sold = [o for o in orders.values() if (o["type"], o["side"]) == ("MARKET", "SELL")]
            assert [o["status"] for o in sold] == ["FILLED"]
        finally:
            await close_stack(stack)

    run(go(), timeout=120)
