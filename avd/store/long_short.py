"""Long/short ratios on SQLAlchemy (the ``long_short`` table).

Implements :class:`avd.services.market.long_short.LongShortStore` with plain
row dicts: ``timestamp`` and the value columns of :class:`LongShortRecord`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from avd.store.database import Database
from avd.store.models import LongShortRecord

#: the value columns (every column but the key)
VALUES = (
    "global_ratio",
    "global_long",
    "top_account_ratio",
    "top_account_long",
    "top_position_ratio",
    "top_position_long",
    "taker_ratio",
    "taker_buy_vol",
    "taker_sell_vol",
)


class SqlLongShortStore:
    """Long/short rows in the ``long_short`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, symbol: str, period: str, rows: list[dict[str, Any]]) -> None:
        """Store rows; a row already stored (same timestamp) is replaced."""
        if not rows:
            return
        values = [
            {
                "symbol": symbol,
                "period": period,
                "timestamp": int(r["timestamp"]),
                **{k: r.get(k) for k in VALUES},
            }
            for r in rows
        ]
        dialect: Any = sqlite if self.db.is_sqlite else postgresql
        stmt = dialect.insert(LongShortRecord).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["symbol", "period", "timestamp"],
            set_={k: getattr(stmt.excluded, k) for k in VALUES},
        )
        async with self.db.write() as s:
            await s.execute(stmt)

    async def tail(self, symbol: str, period: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` rows, oldest first."""
        async with self.db.read() as s:
            result = await s.execute(
                select(LongShortRecord)
                .where(LongShortRecord.symbol == symbol, LongShortRecord.period == period)
                .order_by(LongShortRecord.timestamp.desc())
                .limit(limit)
            )
            recs = list(result.scalars())[::-1]
        return [{"timestamp": r.timestamp, **{k: getattr(r, k) for k in VALUES}} for r in recs]
