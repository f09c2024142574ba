"""The trade engine's repository: trades, their orders and fills, history, risk state."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import (
    FillRecord,
    MetaRecord,
    OrderRecord,
    PaperAccountRecord,
    RiskStateRecord,
    TradeEventRecord,
    TradeRecord,
)
from avd.store.money import QUANTUM, utcnow

OPEN_STATUSES = ("pending", "open")


def q8(v: Decimal) -> Decimal:
    """Round to the 8 decimals the database keeps."""
    return v.quantize(QUANTUM)


def _json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, default=str, sort_keys=True)


async def add_trade(s: AsyncSession, trade: TradeRecord) -> TradeRecord:
    """Insert a trade (its id is set on return)."""
    s.add(trade)
    await s.flush()
    return trade


async def get_trade(s: AsyncSession, trade_id: int) -> TradeRecord | None:
    """One trade by id."""
    return await s.get(TradeRecord, trade_id)


async def trades_of(
    s: AsyncSession,
    client_id: int | None,
    statuses: tuple[str, ...] | None = None,
    *,
    exclude: tuple[str, ...] = (),
    limit: int = 500,
    offset: int = 0,
) -> list[TradeRecord]:
    """A client's trades (every client's when ``client_id`` is None), newest first."""
    q = select(TradeRecord)
    if client_id is not None:
        q = q.where(TradeRecord.client_id == client_id)
    if statuses is not None:
        q = q.where(TradeRecord.status.in_(statuses))
    if exclude:
        q = q.where(TradeRecord.status.not_in(exclude))
    q = q.order_by(TradeRecord.id.desc()).limit(limit).offset(offset)
    return list((await s.scalars(q)).all())


async def add_order(s: AsyncSession, order: OrderRecord) -> OrderRecord:
    """Insert an order row."""
    s.add(order)
    await s.flush()
    return order


async def order_by_cid(s: AsyncSession, client_order_id: str) -> OrderRecord | None:
    """An order by its client order id."""
    return await s.scalar(select(OrderRecord).where(OrderRecord.client_order_id == client_order_id))


async def orders_of(s: AsyncSession, trade_id: int) -> list[OrderRecord]:
    """A trade's orders, oldest first."""
    q = select(OrderRecord).where(OrderRecord.trade_id == trade_id).order_by(OrderRecord.id)
    return list((await s.scalars(q)).all())


async def add_fill(
    s: AsyncSession,
    order: OrderRecord,
    *,
    exchange_trade_id: int,
    price: Decimal,
    qty: Decimal,
    commission: Decimal,
    commission_asset: str,
    ts: int,
) -> bool:
    """Record a fill once (False if it was already recorded)."""
    seen = await s.scalar(
        select(FillRecord.id).where(
            FillRecord.order_id == order.id, FillRecord.exchange_trade_id == exchange_trade_id
        )
    )
    if seen is not None:
        return False
    s.add(
        FillRecord(
            order_id=order.id,
            exchange_trade_id=exchange_trade_id,
            price=q8(price),
            qty=q8(qty),
            commission=q8(commission),
            commission_asset=commission_asset,
            ts=ts,
        )
    )
    return True


async def fills_of(s: AsyncSession, order_id: int) -> list[FillRecord]:
    """An order's fills."""
    q = select(FillRecord).where(FillRecord.order_id == order_id).order_by(FillRecord.id)
    return list((await s.scalars(q)).all())


async def log(s: AsyncSession, trade_id: int, kind: str, **detail: Any) -> None:
    """Append to a trade's history."""
    s.add(TradeEventRecord(trade_id=trade_id, kind=kind, detail=_json(detail)))


async def history_of(s: AsyncSession, trade_id: int) -> list[TradeEventRecord]:
    """A trade's history, oldest first."""
    q = (
        select(TradeEventRecord)
        .where(TradeEventRecord.trade_id == trade_id)
        .order_by(TradeEventRecord.id)
    )
    return list((await s.scalars(q)).all())


async def realized(
    s: AsyncSession,
    client_id: int,
    since: datetime | None = None,
    *,
    mode: str | None = None,
    after_trade_id: int = 0,
) -> Decimal:
    """The realized P&L of a client's trades.

    ``since``: only trades closed since then; ``mode``: only paper or live
    trades; ``after_trade_id``: only trades with a greater id (a paper
    account counts the trades since its last reset).
    """
    q = select(func.coalesce(func.sum(TradeRecord.realized_pnl), Decimal(0))).where(
        TradeRecord.client_id == client_id, TradeRecord.id > after_trade_id
    )
    if since is not None:
        q = q.where(TradeRecord.closed_at >= since)
    if mode is not None:
        q = q.where(TradeRecord.mode == mode)
    # the column's Money type already turns the summed atoms into a Decimal
    raw = await s.scalar(q)
    return raw if isinstance(raw, Decimal) else Decimal(raw or 0)


async def lock_entries(s: AsyncSession, client_id: int) -> None:
    """Take the client's entry lock for the rest of the transaction.

    The database-level half of the entry guard: the client's ``risk_states``
    row is created if missing and locked (``SELECT ... FOR UPDATE`` on
    PostgreSQL), so entries of one client are decided one at a time across
    processes; SQLite's ``BEGIN IMMEDIATE`` write transactions already are.
    """
    dialect = s.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await s.execute(
        insert(RiskStateRecord)
        .values(client_id=client_id, blocked=False, blocked_reason="", updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    await s.execute(
        select(RiskStateRecord.client_id)
        .where(RiskStateRecord.client_id == client_id)
        .with_for_update()
    )


async def held_exposure(s: AsyncSession, client_id: int) -> list[TradeRecord]:
    """The client's pending and open trades (what counts against the caps), oldest first."""
    q = (
        select(TradeRecord)
        .where(TradeRecord.client_id == client_id, TradeRecord.status.in_(OPEN_STATUSES))
        .order_by(TradeRecord.id)
    )
    return list((await s.scalars(q)).all())


async def paper_account(s: AsyncSession, client_id: int) -> PaperAccountRecord | None:
    """A client's paper account row."""
    return await s.get(PaperAccountRecord, client_id)


async def paper_accounts(s: AsyncSession) -> list[PaperAccountRecord]:
    """Every paper account row."""
    return list((await s.scalars(select(PaperAccountRecord))).all())


async def ensure_paper_account(
    s: AsyncSession, client_id: int, *, currency: str, starting_balance: Decimal
) -> PaperAccountRecord:
    """The client's paper account, opened with ``starting_balance`` if it has none yet."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    await s.execute(
        insert(PaperAccountRecord)
        .values(
            client_id=client_id,
            currency=currency,
            starting_balance=q8(starting_balance),
            since_trade_id=0,
            reset_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    row = await s.get(PaperAccountRecord, client_id)
    assert row is not None
    return row


async def save_paper_account(
    s: AsyncSession, client_id: int, *, currency: str, starting_balance: Decimal, since: int
) -> PaperAccountRecord:
    """Create or reset a client's paper account."""
    row = await s.get(PaperAccountRecord, client_id)
    if row is None:
        row = PaperAccountRecord(client_id=client_id)
        s.add(row)
    row.currency = currency
    row.starting_balance = q8(starting_balance)
    row.since_trade_id = since
    row.reset_at = utcnow()
    await s.flush()
    return row


async def last_trade_id(s: AsyncSession) -> int:
    """The highest trade id (0 when there is none)."""
    return int(await s.scalar(select(func.coalesce(func.max(TradeRecord.id), 0))) or 0)


async def risk_state(s: AsyncSession, client_id: int) -> RiskStateRecord | None:
    """A client's persisted risk state."""
    return await s.get(RiskStateRecord, client_id)


async def risk_states(s: AsyncSession) -> list[RiskStateRecord]:
    """Every persisted risk state."""
    return list((await s.scalars(select(RiskStateRecord))).all())


async def save_risk_state(
    s: AsyncSession,
    client_id: int,
    *,
    peak_equity: Decimal | None,
    blocked: bool,
    blocked_reason: str,
    mode: str | None = None,
    day: str | None = None,
    day_start_equity: Decimal | None = None,
) -> None:
    """Insert or update a client's risk state (the row locked, as for an entry)."""
    await lock_entries(s, client_id)  # creates the row if missing: no insert race
    row = await s.get(RiskStateRecord, client_id, populate_existing=True)
    assert row is not None
    row.peak_equity = q8(peak_equity) if peak_equity is not None else None
    row.blocked = blocked
    row.blocked_reason = blocked_reason
    if mode is not None:
        row.mode = mode
    row.day = day
    row.day_start_equity = q8(day_start_equity) if day_start_equity is not None else None
    row.updated_at = utcnow()


async def namespace(s: AsyncSession) -> str:
    """The client order id namespace of the database (5 base-36 characters, drawn once)."""
    row = await s.get(MetaRecord, "order_id_namespace")
    if row is None:
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        value = "".join(secrets.choice(alphabet) for _ in range(5))
        row = MetaRecord(key="order_id_namespace", value=value)
        s.add(row)
        await s.flush()
    return row.value


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of today."""
    n = now or datetime.now(UTC)
    return datetime(n.year, n.month, n.day, tzinfo=UTC)


async def clients_with_open_trades(s: AsyncSession) -> set[int]:
    """The clients with a pending or open trade."""
    rows = await s.execute(
        select(TradeRecord.client_id).where(TradeRecord.status.in_(OPEN_STATUSES)).distinct()
    )
    return set(rows.scalars())


async def signal_traded(s: AsyncSession, client_id: int, symbol: str, after_ms: int) -> bool:
    """Whether the client has a trade opened by the signal of ``after_ms`` in ``symbol``."""
    q = (
        select(func.count())
        .select_from(TradeRecord)
        .join(OrderRecord, OrderRecord.trade_id == TradeRecord.id)
        .where(
            TradeRecord.client_id == client_id,
            TradeRecord.symbol == symbol,
            TradeRecord.origin == "signal",
            OrderRecord.purpose == "entry",
            OrderRecord.after_ms == after_ms,
        )
    )
    return int((await s.execute(q)).scalar_one()) > 0
