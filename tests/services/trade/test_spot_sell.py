"""Spot holds no shorts: a manual SELL reduces or closes what is held, first in first out.

Worked by hand on the simulator's SOLUSDT (price 83.47, step 0.01, 0.1 %
commissions, no slippage): two longs of 1.00 and 0.60 SOL hold 0.99 and
0.59 (the commission is taken in SOL; 0.009 and 0.0094 stay as dust).
"""

from __future__ import annotations

from decimal import Decimal as Dec
from pathlib import Path

from avd.domain.events import OrderRejected
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_api import bearer, http
from tests.services.trade.test_engine import sim_price

P = Dec("83.47")


def test_a_sell_closes_then_reduces_the_longs_fifo_and_never_opens_a_short(
    sim: Sim, tmp_path: Path
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, token = await stack.client("spot@example.com")
            assert await sim_price(sim, "SOLUSDT") == P
            auth = bearer(token)
            async with http(stack) as c:

                async def buy(qty: str) -> dict[str, str]:
                    body = {"symbol": "SOLUSDT", "side": "BUY", "quantity": qty, "stop_loss": "80"}
                    r = await c.post("/trades/execute", json=body, headers=auth)
                    assert r.status_code == 201, r.text
                    return r.json()  # type: ignore[no-any-return]

                a, b = await buy("1.00"), await buy("0.60")
                assert (Dec(a["quantity"]), Dec(b["quantity"])) == (Dec("0.99"), Dec("0.59"))

                async def sell(**kw: str) -> tuple[int, dict[str, object]]:
                    r = await c.post(
                        "/trades/execute",
                        json={"symbol": kw.pop("symbol", "SOLUSDT"), "side": "SELL", **kw},
                        headers=auth,
                    )
                    return r.status_code, r.json()

                count = len(await stack.engine.trades(cid, None, limit=100, offset=0))
                # nothing of ETH held: refused, nothing written
                status, body = await sell(symbol="ETHUSDT", quantity="0.1")
                assert (status, body["error"]) == (409, "no_holding")
                # more than held: refused with the numbers
                status, body = await sell(quantity="5")
                assert (status, body["error"]) == (422, "sell_exceeds_holding")
                assert body["numbers"] == {"requested": "5", "held": "1.58"}
                status, body = await sell(type="LIMIT", price="90", quantity="0.1")
                assert (status, body["error"]) == (422, "sell_market_only")
                assert len(await stack.engine.trades(cid, None, limit=100, offset=0)) == count

                # 1.30: all of the first long (0.99), then 0.31 of the second
                status, body = await sell(quantity="1.30")
                assert status == 200, body
                assert Dec(str(body["quantity"])) == Dec("1.30")
                sold = {t["id"]: t for t in body["trades"]}  # type: ignore[union-attr]
                ta, tb = sold[a["id"]], sold[b["id"]]
                assert (ta["status"], ta["close_reason"]) == ("closed", "manual")
                # entry commission 0.001 x 83.47 = 0.08347; exit 0.1 % x 0.99 x 83.47
                assert Dec(ta["realized_pnl"]) == Dec("-0.08347") - Dec("0.0826353")
                assert (tb["status"], Dec(tb["open_quantity"])) == ("open", Dec("0.28"))
                assert Dec(tb["tracked_stop"]) == Dec(80)  # the rest keeps its stop
                # entry commission 0.0006 x 83.47 = 0.050082; exit 0.1 % x 0.31 x 83.47
                assert Dec(tb["realized_pnl"]) == Dec("-0.050082") - Dec("0.0258757")

                # no quantity: everything still held
                status, body = await sell()
                assert status == 200 and Dec(str(body["quantity"])) == Dec("0.28")
                (tb,) = body["trades"]  # type: ignore[misc]
                assert tb["status"] == "closed"
                assert Dec(tb["realized_pnl"]) == Dec("-0.050082") - Dec("0.0258757") - Dec(
                    "0.0233716"
                )
                status, body = await sell()
                assert (status, body["error"]) == (409, "no_holding")

            trades = await stack.engine.trades(cid, None, limit=100, offset=0)
            assert {t.side for t in trades} == {"BUY"}  # never a short
            bal = await stack.engine.paper[cid].balances()
            assert bal["SOL"].free == Dec("0.0184")  # the dust of both entries, kept
            # paid 1.60 x 83.47, got 1.58 x 83.47 back, less the three exit fees
            fees = Dec("0.0826353") + Dec("0.0258757") + Dec("0.0233716")
            assert bal["USDT"].free == Dec(10000) - Dec("0.02") * P - fees
            await stack.hub.drain()
            rules = [e.rule for e in stack.events if isinstance(e, OrderRejected)]
            assert rules == ["no_holding", "sell_exceeds_holding", "sell_market_only", "no_holding"]
        finally:
            await close_stack(stack)

    run(go())
