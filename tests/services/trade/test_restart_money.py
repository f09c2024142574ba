"""Money survives a restart: every money column, and the realized P&L the risk limits use.

Two paper trades are closed at a loss; the platform restarts on the same
database. The daily P&L the risk manager restores must be the exact sum of
the losses seen before (it once came back as ``-3E-8``: the summed column
was scaled twice), and every money column of every table must read back the
value it held before the restart, equal to the raw integer atoms the
database stores.
"""

from __future__ import annotations

from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from avd.services.trade.plans import TradeOrder
from avd.store.database import Database
from avd.store.models import Base
from avd.store.money import Money
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price

#: columns the scenario must have filled with something other than zero
MUST_BE_SEEN = {
    ("trades", "realized_pnl"),
    ("trades", "entry_price"),
    ("trades", "exit_price"),
    ("trades", "initial_stop"),
    ("trade_fills", "price"),
    ("trade_fills", "commission"),
    ("trade_orders", "cumulative_quote"),
    ("ledger_entries", "amount"),
    ("closed_trades", "notional"),
    ("closed_trades", "profit"),
    ("closed_trades", "fee"),
    ("risk_states", "peak_equity"),
    ("paper_accounts", "starting_balance"),
}


def _money_columns() -> list[tuple[Any, list[Any]]]:
    out = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        cols = [c for c in table.columns if isinstance(c.type, Money)]
        if cols:
            out.append((table, cols))
    return out


async def _snapshot(db: Database) -> dict[tuple[str, str, tuple[Any, ...]], Dec | None]:
    """Every money value of every row, read through the models."""
    snap: dict[tuple[str, str, tuple[Any, ...]], Dec | None] = {}
    async with db.read() as s:
        for table, cols in _money_columns():
            pk = list(table.primary_key.columns)
            for row in (await s.execute(select(*pk, *cols))).all():
                key = tuple(row[: len(pk)])
                for c, v in zip(cols, row[len(pk) :], strict=True):
                    snap[(table.name, c.name, key)] = v
    return snap


async def _raw_atoms(db: Database) -> dict[tuple[str, str, tuple[Any, ...]], int | None]:
    """The same values as the integers the database holds (no type conversion)."""
    raw: dict[tuple[str, str, tuple[Any, ...]], int | None] = {}
    async with db.read() as s:
        for table, cols in _money_columns():
            pk = [c.name for c in table.primary_key.columns]
            names = ", ".join([*pk, *(c.name for c in cols)])
            for row in (await s.execute(text(f"SELECT {names} FROM {table.name}"))).all():
                key = tuple(row[: len(pk)])
                for c, v in zip(cols, row[len(pk) :], strict=True):
                    raw[(table.name, c.name, key)] = None if v is None else int(v)
    return raw


def test_money_and_the_daily_loss_read_back_after_a_restart(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim, database_url)
        try:
            cid, _ = await stack.client("restart@example.com")
            price = await sim_price(sim)
            losses = Dec(0)
            for _ in range(2):
                t = await stack.engine.execute(
                    cid,
                    TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(300), stop_loss=price - 2000),
                )
                # the price falls 500 before the close: a loss
                await stack.engine.on_tick("BTCUSDT", 1, price - 500)
                closed = await stack.engine.close(cid, t.id)
                assert closed.realized_pnl < 0
                losses += closed.realized_pnl
                await stack.engine.on_tick("BTCUSDT", 2, price)
            await stack.hub.drain()
            before = await stack.engine.risk_status(cid)
            assert before.daily_pnl == losses
            snap = await _snapshot(stack.engine.db)
        finally:
            await close_stack(stack)

        again = await make_stack(tmp_path, sim, database_url)
        try:
            after = await again.engine.risk_status(cid)
            # exact, not scaled twice
            assert after.daily_pnl == losses
            assert after.daily_loss_limit == before.daily_loss_limit
            db = again.engine.db
            assert await _snapshot(db) == snap
            raw = await _raw_atoms(db)
            assert raw.keys() == snap.keys()
            for key, value in snap.items():
                atoms = raw[key]
                assert (value is None) == (atoms is None), key
                if value is not None and atoms is not None:
                    assert value == Dec(atoms).scaleb(-8), key
            seen = {(t, c) for (t, c, _), v in snap.items() if v}
            assert seen >= MUST_BE_SEEN, MUST_BE_SEEN - seen
        finally:
            await close_stack(again)

    run(go())
