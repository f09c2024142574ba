"""Risk caps hold under concurrent entries, in one process and across two.

Entries of one client are decided one at a time (a per-client lock and a
database row lock): 20 parallel ``POST /trades/execute`` accept exactly what
the same requests one after another would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

from avd.domain.errors import Refusal
from avd.services.trade.plans import TradeOrder
from tests.services.trade.conftest import Sim, Stack, close_stack, make_stack, run
from tests.services.trade.test_api import bearer, http
from tests.services.trade.test_engine import sim_price


async def _parallel_buys(stack: Stack, sim: Sim, token: str, n: int, quote: str) -> list[Any]:
    price = await sim_price(sim)
    body = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quote_amount": quote,
        "stop_loss": f"{price - 1000}",
    }
    async with http(stack) as c:
        return list(
            await asyncio.gather(
                *(c.post("/trades/execute", json=body, headers=bearer(token)) for _ in range(n))
            )
        )


def test_twenty_parallel_entries_respect_the_exposure_cap(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    # 10 000 USDT of paper money, total exposure capped at 22 %: 2 200 USDT.
    # One after another, four buys of 500 USDT fit (about 2 000), a fifth
    # would pass the cap.
    async def go() -> None:
        stack = await make_stack(
            tmp_path, sim, database_url, risk={"max_total_exposure_percent": "22"}
        )
        try:
            cid, token = await stack.client("race@example.com", max_open_positions=50)
            answers = await _parallel_buys(stack, sim, token, 20, "500")
            ok = [r for r in answers if r.status_code == 201]
            refused = [r for r in answers if r.status_code != 201]
            assert len(ok) == 4, [r.text for r in answers]
            assert {r.status_code for r in refused} == {422}
            assert {r.json()["error"] for r in refused} == {"max_total_exposure"}
            open_ = await stack.engine.trades(cid, ("pending", "open"), limit=100, offset=0)
            exposure = sum((t.quantity * t.entry_price for t in open_), Dec(0))
            assert len(open_) == 4 and exposure <= Dec(2200)
            # a refusal writes nothing: the four are the only trades
            assert len(await stack.engine.trades(cid, None, limit=100, offset=0)) == 4
        finally:
            await close_stack(stack)

    run(go())


def test_twenty_parallel_entries_respect_the_position_count(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim, database_url)
        try:
            cid, token = await stack.client("count@example.com", max_open_positions=5)
            answers = await _parallel_buys(stack, sim, token, 20, "100")
            assert sum(r.status_code == 201 for r in answers) == 5
            assert {r.json()["error"] for r in answers if r.status_code != 201} == {
                "max_open_positions"
            }
            open_ = await stack.engine.trades(cid, ("pending", "open"), limit=100, offset=0)
            assert len(open_) == 5
        finally:
            await close_stack(stack)

    run(go())


def test_two_engines_on_one_database_share_the_caps(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    # Two trade engines (as two processes would) on one database, each with
    # its own connections and in-memory state, take 10 entries each for the
    # same client at the same time: the database lock makes them take turns.
    async def go() -> None:
        risk = {"max_total_exposure_percent": "22"}
        a = await make_stack(tmp_path / "a", sim, database_url, risk=risk)
        b = await make_stack(tmp_path / "b", sim, database_url, risk=risk)
        try:
            cid, _ = await a.client("two@example.com", max_open_positions=50)
            price = await sim_price(sim)

            async def buy(stack: Stack) -> bool:
                try:
                    await stack.engine.execute(
                        cid,
                        TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(500), stop_loss=price - 1000),
                    )
                except Refusal as exc:
                    assert exc.rule == "max_total_exposure", exc
                    return False
                return True

            done = await asyncio.gather(*(buy(s) for _ in range(10) for s in (a, b)))
            assert sum(done) == 4
            open_ = await a.engine.trades(cid, ("pending", "open"), limit=100, offset=0)
            assert len(open_) == 4
        finally:
            await close_stack(a)
            await close_stack(b)

    run(go())
