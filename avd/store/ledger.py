"""The prepaid-fee ledger: deposits, fee charges, refunds and adjustments.

Entries are only ever inserted. Every function that changes a balance must
run inside :meth:`avd.store.database.Database.write` after locking the
account row with :func:`avd.store.accounts.lock`, so that the read of the
balance and the insert that depends on it cannot interleave with another
writer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import ClosedTrade, Deposit, LedgerEntry
from avd.store.money import utcnow

DEPOSIT = "deposit"
FEE_CHARGE = "fee_charge"
REFUND = "refund"
ADJUSTMENT = "adjustment"
KINDS = (DEPOSIT, FEE_CHARGE, REFUND, ADJUSTMENT)


async def balance(s: AsyncSession, user_id: int) -> Decimal:
    """The sum of the user's ledger entries."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount), Decimal(0))).where(
        LedgerEntry.user_id == user_id
    )
    value = (await s.execute(stmt)).scalar_one()
    return Decimal(value)


async def total(s: AsyncSession, user_id: int, kind: str) -> Decimal:
    """The sum of the user's entries of one ``kind`` (fee charges are negative)."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount), Decimal(0))).where(
        LedgerEntry.user_id == user_id, LedgerEntry.kind == kind
    )
    return Decimal((await s.execute(stmt)).scalar_one())


async def append(
    s: AsyncSession,
    user_id: int,
    kind: str,
    amount: Decimal,
    *,
    reason: str | None = None,
    deposit_id: int | None = None,
    trade_id: int | None = None,
    actor_id: int | None = None,
) -> LedgerEntry:
    """Insert one entry (the caller holds the account lock)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    entry = LedgerEntry(
        user_id=user_id,
        kind=kind,
        amount=amount,
        reason=reason,
        deposit_id=deposit_id,
        trade_id=trade_id,
        actor_id=actor_id,
        created_at=utcnow(),
    )
    s.add(entry)
    await s.flush()
    return entry


async def deposit_by_key(s: AsyncSession, user_id: int, key: str) -> Deposit | None:
    """The deposit made with idempotency key ``key``."""
    stmt = select(Deposit).where(Deposit.user_id == user_id, Deposit.idempotency_key == key)
    return (await s.execute(stmt)).scalar_one_or_none()


async def deposit_by_id(s: AsyncSession, deposit_id: int) -> Deposit | None:
    """The deposit ``deposit_id``."""
    return await s.get(Deposit, deposit_id)


async def record_deposit(
    s: AsyncSession, user_id: int, key: str, amount: Decimal, status: str
) -> Deposit:
    """A new deposit; a succeeded one is credited at once."""
    now = utcnow()
    dep = Deposit(
        user_id=user_id,
        idempotency_key=key,
        amount=amount,
        status=status,
        created_at=now,
        settled_at=None if status == "pending" else now,
    )
    s.add(dep)
    await s.flush()
    if status == "succeeded":
        await append(s, user_id, DEPOSIT, amount, deposit_id=dep.id)
    return dep


async def settle_deposit(s: AsyncSession, dep: Deposit, succeeded: bool) -> None:
    """Settle a pending deposit (credited if it succeeded)."""
    dep.status = "succeeded" if succeeded else "failed"
    dep.settled_at = utcnow()
    await s.flush()
    if succeeded:
        await append(s, dep.user_id, DEPOSIT, dep.amount, deposit_id=dep.id)


@dataclass(frozen=True)
class FeeResult:
    """What charging a closed trade did."""

    fee: Decimal
    charged: Decimal
    balance: Decimal
    duplicate: bool

    @property
    def shortfall(self) -> Decimal:
        """The part of the fee the balance could not cover."""
        return self.fee - self.charged


async def charge_trade(
    s: AsyncSession,
    user_id: int,
    trade_ref: str,
    symbol: str,
    notional: Decimal,
    profit: Decimal,
    fee: Decimal,
) -> FeeResult:
    """Record a closed trade and charge ``fee``, capped at the balance.

    A trade already recorded is not charged again (``duplicate``).
    """
    stmt = select(ClosedTrade).where(
        ClosedTrade.user_id == user_id, ClosedTrade.trade_ref == trade_ref
    )
    known = (await s.execute(stmt)).scalar_one_or_none()
    current = await balance(s, user_id)
    if known is not None:
        return FeeResult(known.fee, known.charged, current, duplicate=True)
    charged = min(fee, max(current, Decimal(0)))
    trade = ClosedTrade(
        user_id=user_id,
        trade_ref=trade_ref,
        symbol=symbol,
        notional=notional,
        profit=profit,
        fee=fee,
        charged=charged,
        closed_at=utcnow(),
    )
    s.add(trade)
    await s.flush()
    if charged > 0:
        await append(
            s, user_id, FEE_CHARGE, -charged, trade_id=trade.id, reason=f"{symbol} {trade_ref}"
        )
    return FeeResult(fee, charged, current - charged, duplicate=False)


async def entries(s: AsyncSession, user_id: int, limit: int) -> Sequence[LedgerEntry]:
    """The newest ``limit`` entries other than deposits (those come from ``deposits``)."""
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.user_id == user_id, LedgerEntry.kind != DEPOSIT)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return (await s.execute(stmt)).scalars().all()


async def deposits(s: AsyncSession, user_id: int, limit: int) -> Sequence[Deposit]:
    """The newest ``limit`` deposits, any status."""
    stmt = (
        select(Deposit).where(Deposit.user_id == user_id).order_by(Deposit.id.desc()).limit(limit)
    )
    return (await s.execute(stmt)).scalars().all()


async def trades(s: AsyncSession, user_id: int, limit: int) -> Sequence[ClosedTrade]:
    """The newest ``limit`` closed trades."""
    stmt = (
        select(ClosedTrade)
        .where(ClosedTrade.user_id == user_id)
        .order_by(ClosedTrade.id.desc())
        .limit(limit)
    )
    return (await s.execute(stmt)).scalars().all()
