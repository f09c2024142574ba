"""The fees owed to the Client service (the trade service's outbox)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import FeeDueRecord
from avd.store.money import QUANTUM, utcnow


async def owe(
    s: AsyncSession,
    *,
    trade_id: int,
    client_id: int,
    trade_ref: str,
    symbol: str,
    notional: Decimal,
    profit: Decimal,
) -> None:
    """Record the fee of a closed trade as owed (once per trade)."""
    if await s.get(FeeDueRecord, trade_id) is not None:
        return
    s.add(
        FeeDueRecord(
            trade_id=trade_id,
            client_id=client_id,
            trade_ref=trade_ref,
            symbol=symbol,
            notional=notional.quantize(QUANTUM),
            profit=profit.quantize(QUANTUM),
        )
    )


async def owed(s: AsyncSession, trade_id: int | None = None) -> list[FeeDueRecord]:
    """The fees still owed (of one trade, or every one), oldest first."""
    q = select(FeeDueRecord).where(FeeDueRecord.charged_at.is_(None))
    if trade_id is not None:
        q = q.where(FeeDueRecord.trade_id == trade_id)
    return list((await s.scalars(q.order_by(FeeDueRecord.trade_id))).all())


async def count_owed(s: AsyncSession) -> int:
    """How many fees are still owed."""
    q = select(func.count()).select_from(FeeDueRecord).where(FeeDueRecord.charged_at.is_(None))
    return int(await s.scalar(q) or 0)


async def charged(s: AsyncSession, trade_id: int) -> None:
    """The Client service confirmed the charge."""
    row = await s.get(FeeDueRecord, trade_id)
    if row is not None and row.charged_at is None:
        row.attempts += 1
        row.charged_at = utcnow()
        row.last_error = None


async def failed(s: AsyncSession, trade_id: int, error: str) -> None:
    """One more attempt that did not charge it."""
    row = await s.get(FeeDueRecord, trade_id)
    if row is not None and row.charged_at is None:
        row.attempts += 1
        row.last_error = error[:500]
