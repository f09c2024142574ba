"""The candle history on SQLAlchemy (SQLite by default, PostgreSQL by URL).

Implements :class:`avd.services.market.candle_history.CandleHistory`: the
collector appends every closed candle, warms up from :meth:`tail`, and the
market API serves candles back from it.
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from avd.domain.events import KlineReceived
from avd.history import Candles, candles_from_klines
from avd.store.database import Database
from avd.store.models import CandleRecord


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


class SqlCandleHistory:
    """Closed candles in the ``candles`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, klines: list[KlineReceived]) -> None:
        """Store closed candles; a candle already stored is left as it is."""
        rows = [
            {
                "symbol": k.symbol,
                "interval": k.interval,
                "open_time": k.open_time,
                "open": k.open,
                "high": k.high,
                "low": k.low,
                "close": k.close,
                "volume": k.volume,
                "quote_volume": _opt(k.quote_volume),
                "trades": _opt(k.trades),
                "taker_buy_base": _opt(k.taker_buy_base),
            }
            for k in klines
            if k.closed
        ]
        if not rows:
            return
        dialect = sqlite if self.db.is_sqlite else postgresql
        stmt = dialect.insert(CandleRecord).values(rows).on_conflict_do_nothing()
        async with self.db.write() as s:
            await s.execute(stmt)

    async def tail(self, symbol: str, interval: str, limit: int) -> Candles | None:
        """The newest ``limit`` closed candles, oldest first (None if none)."""
        async with self.db.read() as s:
            result = await s.execute(
                select(CandleRecord)
                .where(CandleRecord.symbol == symbol, CandleRecord.interval == interval)
                .order_by(CandleRecord.open_time.desc())
                .limit(limit)
            )
            rows = list(result.scalars())[::-1]
        if not rows:
            return None

        return candles_from_klines(symbol, interval, rows)
