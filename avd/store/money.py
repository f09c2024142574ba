"""Exact money: ``Decimal`` in Python, integer atoms (1e-8) in the database.

SQLite has no decimal type (SQLAlchemy's ``Numeric`` would go through a
float there), so every amount is stored as a signed 64-bit count of
``10**-8`` units; sums computed by the database stay exact on both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

SCALE = 8
QUANTUM = Decimal(1).scaleb(-SCALE)
# The largest amount a signed 64-bit count of atoms can hold (~92 billion).
MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-SCALE)


def to_atoms(amount: Decimal) -> int:
    """``amount`` as an integer count of 1e-8 units; refuses a finer precision."""
    try:
        atoms = amount.scaleb(SCALE)
    except InvalidOperation:  # pragma: no cover - only for NaN and friends
        raise ValueError(f"not a finite amount: {amount}") from None
    if not atoms.is_finite() or atoms != atoms.to_integral_value():
        raise ValueError(f"an amount has at most {SCALE} decimals: {amount}")
    return int(atoms)


def from_atoms(atoms: int) -> Decimal:
    """The ``Decimal`` for an integer count of 1e-8 units."""
    return Decimal(atoms).scaleb(-SCALE)


def money_str(amount: Decimal) -> str:
    """A decimal string with at least two and at most eight decimals (``"100.50"``)."""
    q = amount.quantize(QUANTUM)
    text = f"{q:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


class Money(TypeDecorator[Decimal]):
    """A ``Decimal`` stored exactly as a BIGINT of 1e-8 units."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """Decimal to atoms."""
        if value is None:
            return None
        return to_atoms(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Atoms to Decimal."""
        if value is None:
            return None
        return from_atoms(int(value))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Aware datetime to naive UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Naive UTC to aware datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Now, in UTC, at microsecond precision."""
    return datetime.now(UTC)
