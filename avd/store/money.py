"""Exact money: ``Decimal`` in Python, integer atoms (1e-8) in the database.

SQLite has no decimal type (SQLAlchemy's ``Numeric`` would go through a
float there), so every amount is stored as a signed 64-bit count of
``10**-8`` units; sums computed by the database stay exact on both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from avd.domain.money import MAX_AMOUNT, QUANTUM, SCALE, from_atoms, money_str, to_atoms

# the exact decimal rules live in the domain; the database stores them as atoms
__all__ = [
    "MAX_AMOUNT",
    "QUANTUM",
    "SCALE",
    "Money",
    "UTCDateTime",
    "from_atoms",
    "money_str",
    "to_atoms",
    "utcnow",
]


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
