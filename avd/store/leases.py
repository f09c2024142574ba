"""Trade workers' heartbeats and their leases on clients (the shared database's clock).

Every time here is the database server's clock in seconds since the epoch
(:func:`db_now`), never a worker's own: workers on several machines then
agree on what has expired. Each statement is a single conditional write, so
two workers racing for one client cannot both win it.
"""

from __future__ import annotations

from sqlalchemy import case, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import TradeLeaseRecord, TradeSignalMarkRecord, TradeWorkerRecord

#: the owner of a lease given back (claimable at once, not a take-over)
FREE = ""


def _is_sqlite(s: AsyncSession) -> bool:
    return s.get_bind().dialect.name == "sqlite"


async def db_now(s: AsyncSession) -> float:
    """The database's clock, seconds since the epoch."""
    if _is_sqlite(s):
        q = text("SELECT (julianday('now') - 2440587.5) * 86400.0")
    else:
        q = text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
    return float((await s.execute(q)).scalar_one())


async def heartbeat(s: AsyncSession, worker_id: str, now: float, lease_s: float) -> None:
    """Say the worker is alive until ``now + lease_s``."""
    values = {"worker_id": worker_id, "expires_at": now + lease_s, "started_at": now}
    ins = (sqlite_insert if _is_sqlite(s) else pg_insert)(TradeWorkerRecord).values(**values)
    await s.execute(
        ins.on_conflict_do_update(
            index_elements=["worker_id"], set_={"expires_at": values["expires_at"]}
        )
    )


async def live_workers(s: AsyncSession, now: float) -> list[str]:
    """The workers whose heartbeat has not expired, sorted."""
    rows = await s.execute(
        select(TradeWorkerRecord.worker_id).where(TradeWorkerRecord.expires_at > now)
    )
    return sorted(rows.scalars())


async def forget_worker(s: AsyncSession, worker_id: str) -> None:
    """Give a worker's leases back and remove its heartbeat (it stops)."""
    await s.execute(
        update(TradeLeaseRecord)
        .where(TradeLeaseRecord.owner == worker_id)
        .values(owner=FREE, expires_at=0.0)
    )
    await s.execute(delete(TradeWorkerRecord).where(TradeWorkerRecord.worker_id == worker_id))


async def renew(s: AsyncSession, worker_id: str, now: float, lease_s: float) -> set[int]:
    """Extend every unexpired lease of the worker; the clients it still owns.

    A lease that expired is not renewed: another worker may have taken the
    client (or may at any moment).
    """
    rows = await s.execute(
        update(TradeLeaseRecord)
        .where(TradeLeaseRecord.owner == worker_id, TradeLeaseRecord.expires_at > now)
        .values(expires_at=now + lease_s)
        .returning(TradeLeaseRecord.client_id)
    )
    return set(rows.scalars())


async def claim(
    s: AsyncSession, client_id: int, worker_id: str, now: float, lease_s: float
) -> bool:
    """Take the client if nobody holds an unexpired lease on it; whether it was taken."""
    values = {
        "client_id": client_id,
        "owner": worker_id,
        "expires_at": now + lease_s,
        "acquired_at": now,
        "takeovers": 0,
    }
    table = TradeLeaseRecord.__table__
    ins = (sqlite_insert if _is_sqlite(s) else pg_insert)(TradeLeaseRecord).values(**values)
    stmt = ins.on_conflict_do_update(
        index_elements=["client_id"],
        set_={
            "owner": worker_id,
            "expires_at": now + lease_s,
            "acquired_at": now,
            # a lease that lapsed (its owner died), not one given back
            "takeovers": table.c.takeovers + case((table.c.owner == FREE, 0), else_=1),
        },
        where=table.c.expires_at <= now,
    ).returning(TradeLeaseRecord.owner)
    got = (await s.execute(stmt)).scalar_one_or_none()
    return got == worker_id


async def give_back(s: AsyncSession, client_id: int, worker_id: str) -> None:
    """Release the worker's lease on a client: another worker may take it at once.

    The row stays (owner :data:`FREE`, expired), so the client is still one
    to serve when it has no bot and no open trade.
    """
    await s.execute(
        update(TradeLeaseRecord)
        .where(TradeLeaseRecord.client_id == client_id, TradeLeaseRecord.owner == worker_id)
        .values(owner=FREE, expires_at=0.0)
    )


async def leases(s: AsyncSession) -> list[TradeLeaseRecord]:
    """Every lease row (expired or not), by client."""
    rows = await s.execute(select(TradeLeaseRecord).order_by(TradeLeaseRecord.client_id))
    return list(rows.scalars())


async def lease_of(s: AsyncSession, client_id: int) -> TradeLeaseRecord | None:
    """The lease row of one client, if any (read before a claim)."""
    row = await s.get(TradeLeaseRecord, client_id)
    if row is not None:
        # the claim's UPDATE changes the row behind the session's back
        s.expunge(row)
    return row


#: a signal stream: (symbol, interval)
Stream = tuple[str, str]


def client_holder(client_id: int) -> str:
    """The holder of the marks a worker left with a client it gave back."""
    return f"client:{client_id}"


async def mark_signal(
    s: AsyncSession, holder: str, symbol: str, interval: str, generated_at: int
) -> None:
    """The holder handled the stream's signals up to ``generated_at`` (never moves back)."""
    values = {"holder": holder, "symbol": symbol, "interval": interval}
    ins = (sqlite_insert if _is_sqlite(s) else pg_insert)(TradeSignalMarkRecord).values(
        **values, generated_at=generated_at
    )
    table = TradeSignalMarkRecord.__table__
    greatest = func.max if _is_sqlite(s) else func.greatest
    await s.execute(
        ins.on_conflict_do_update(
            index_elements=["holder", "symbol", "interval"],
            set_={"generated_at": greatest(table.c.generated_at, ins.excluded.generated_at)},
        )
    )


async def signal_marks(s: AsyncSession, holder: str) -> dict[Stream, int]:
    """The holder's marks: the newest signal handled, per stream."""
    rows = await s.execute(
        select(
            TradeSignalMarkRecord.symbol,
            TradeSignalMarkRecord.interval,
            TradeSignalMarkRecord.generated_at,
        ).where(TradeSignalMarkRecord.holder == holder)
    )
    return {(sym, iv): int(at) for sym, iv, at in rows.all()}


async def copy_marks(s: AsyncSession, source: str, holder: str) -> None:
    """Give ``holder`` the marks of ``source`` (a worker giving a client back)."""
    for (symbol, interval), at in (await signal_marks(s, source)).items():
        await mark_signal(s, holder, symbol, interval, at)
