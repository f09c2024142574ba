"""The trading capital is the paper (or Binance) account, not the prepaid platform balance.

Worked by hand on the simulator's paused SOLUSDT (83.47, step 0.01, 0.1 %
commissions): the prepaid balance of the Client service only gates trading
(402 when exhausted); sizes, caps and ``GET /trades/account`` come from the
client's paper account, which starts at 10 000 USDT, can be reset to another
balance and survives a restart.
"""

from __future__ import annotations

from decimal import Decimal as Dec
from pathlib import Path

from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_api import bearer, http
from tests.services.trade.test_engine import sim_price

P = Dec("83.47")


def test_a_client_who_prepaid_50_trades_100_on_paper(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _cid, token = await stack.client("fifty@example.com", balance="50")
            body = {"symbol": "SOLUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "100"}
            async with http(stack) as c:
                r = await c.post("/trades/execute", json=body, headers=bearer(token))
                assert r.status_code == 201, r.text
                # 100 / 83.47 = 1.198... → 1.19 SOL bought, 1.18 held
                assert Dec(r.json()["quantity"]) == Dec("1.18")
                # a client with nothing prepaid is refused by the Client service
                _none, broke = await stack.client("zero@example.com", balance="0")
                r = await c.post("/trades/execute", json=body, headers=bearer(broke))
                assert r.status_code == 402 and r.json()["error"] == "insufficient_balance"
        finally:
            await close_stack(stack)

    run(go())


def test_the_account_shows_balances_equity_exposure_and_pnl_and_resets(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim, database_url)
        try:
            cid, token = await stack.client("acct@example.com")
            assert await sim_price(sim, "SOLUSDT") == P
            auth = bearer(token)
            async with http(stack) as c:
                r = await c.get("/trades/account", headers=auth)
                assert r.status_code == 200, r.text
                acct = r.json()
                assert (acct["mode"], acct["currency"]) == ("paper", "USDT")
                assert Dec(acct["equity"]) == Dec(acct["starting_balance"]) == Dec(10000)

                buy = {"symbol": "SOLUSDT", "side": "BUY", "quantity": "2.00", "stop_loss": "80"}
                r = await c.post("/trades/execute", json=buy, headers=auth)
                assert r.status_code == 201, r.text
                trade = r.json()
                acct = (await c.get("/trades/account", headers=auth)).json()
                # paid 2 x 83.47 = 166.94; 1.998 SOL received (0.002 commission),
                # 1.99 held by the trade and 0.008 of dust, all worth 83.47
                bal = {b["asset"]: b for b in acct["balances"]}
                assert Dec(bal["USDT"]["free"]) == Dec("9833.06")
                assert Dec(bal["SOL"]["free"]) == Dec("1.998")
                assert Dec(bal["SOL"]["value"]) == Dec("1.998") * P
                assert Dec(acct["equity"]) == Dec("9833.06") + Dec("1.998") * P
                assert Dec(acct["open_exposure"]) == Dec("1.99") * P
                (pos,) = acct["positions"]
                assert (pos["trade_id"], Dec(pos["quantity"])) == (trade["id"], Dec("1.99"))
                assert Dec(pos["unrealized_pnl"]) == 0
                assert Dec(acct["realized_pnl"]) == -Dec("0.002") * P  # the commission

                # no reset with a position open
                r = await c.post("/trades/account/reset", json={"balance": "2500"}, headers=auth)
                assert r.status_code == 409 and r.json()["error"] == "positions_open"
                r = await c.post(f"/trades/{trade['id']}/close", headers=auth)
                assert r.status_code == 200
                r = await c.post("/trades/account/reset", json={"balance": "2500"}, headers=auth)
                assert r.status_code == 200, r.text
                acct = r.json()
                assert Dec(acct["equity"]) == Dec(acct["starting_balance"]) == Dec(2500)
                assert [b["asset"] for b in acct["balances"]] == ["USDT"]  # dust gone too
                assert Dec(acct["realized_pnl"]) == 0  # trades before the reset do not count

                # sized from the account: 1 % of 2500 = 25 at risk over 83.47 - 80
                risky = {"symbol": "SOLUSDT", "side": "BUY", "risk_percent": "1", "stop_loss": "80"}
                r = await c.post("/trades/execute", json=risky, headers=auth)
                assert r.status_code == 201, r.text
                # 25 / 3.47 = 7.20 SOL bought; 7.1928 left after the commission → 7.19
                assert Dec(r.json()["quantity"]) == Dec("7.19")
        finally:
            await close_stack(stack)

        again = await make_stack(tmp_path, sim, database_url)
        try:
            async with http(again) as c:
                acct = (await c.get("/trades/account", headers=bearer(token))).json()
            # rebuilt from the reset balance and the fills since: paid 7.20 x 83.47
            bal = {b["asset"]: Dec(b["free"]) for b in acct["balances"]}
            assert Dec(acct["starting_balance"]) == Dec(2500)
            assert bal == {"USDT": Dec(2500) - Dec("7.20") * P, "SOL": Dec("7.1928")}
            assert len(acct["positions"]) == 1 and cid == acct["client_id"]
        finally:
            await close_stack(again)

    run(go())


def test_a_live_account_is_the_exchange_account_marked_to_market(sim: Sim, tmp_path: Path) -> None:
    # Live on the simulator: the account is the simulator's own (every asset it
    # holds), each valued at the simulator's ticker price in USDT.
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            _cid, token = await stack.client("live@example.com", mode="live")
            async with http(stack) as c:
                r = await c.get("/trades/account", headers=bearer(token))
                assert r.status_code == 200, r.text
                acct = r.json()
                status = (await c.get("/risk/status", headers=bearer(token))).json()
            held = {a: free + locked for a, (free, locked) in sim.balances().items()}
            want = Dec(0)
            for asset, amount in held.items():
                if amount and asset == "USDT":
                    want += amount
                elif amount:
                    want += amount * await sim_price(sim, asset + "USDT")
            assert acct["mode"] == "live" and acct["starting_balance"] is None
            assert Dec(acct["equity"]) == want
            assert Dec(status["equity"]) == want and status["mode"] == "live"
        finally:
            await close_stack(stack)

    run(go())
