"""The SQL candle history on SQLite and PostgreSQL, against the real data."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from avd.domain.events import KlineReceived
from avd.history import read_candles, sample_dir
from avd.store.candles import SqlCandleHistory
from avd.store.database import Database


def klines(n: int) -> list[KlineReceived]:
    c = read_candles(sample_dir() / "XRPUSDT-1m.csv.gz").tail(n)
    return [
        KlineReceived(
            symbol="XRPUSDT",
            interval="1m",
            open_time=int(c.open_time[i]),
            open=float(c.open[i]),
            high=float(c.high[i]),
            low=float(c.low[i]),
            close=float(c.close[i]),
            volume=float(c.volume[i]),
            closed=True,
            trades=float(i),
        )
        for i in range(len(c))
    ]


def test_candles_round_trip_exactly_and_duplicates_are_ignored(database_url: str) -> None:
    rows = klines(300)

    async def main() -> None:
        db = Database(database_url)
        await db.upgrade()
        h = SqlCandleHistory(db)
        assert await h.tail("XRPUSDT", "1m", 10) is None
        await h.append(rows[:200])
        await h.append(rows[150:])  # overlaps: stored once
        await h.append([rows[0]])  # the same candle again
        got = await h.tail("XRPUSDT", "1m", 1000)
        assert got is not None and len(got) == 300
        np.testing.assert_array_equal(got.open_time, [k.open_time for k in rows])
        np.testing.assert_array_equal(got.close, [k.close for k in rows])
        np.testing.assert_array_equal(got.trades, [float(i) for i in range(300)])
        assert all(math.isnan(x) for x in got.quote_volume)
        last = await h.tail("XRPUSDT", "1m", 50)
        assert last is not None
        np.testing.assert_array_equal(last.open_time, [k.open_time for k in rows[-50:]])
        assert await h.tail("XRPUSDT", "5m", 10) is None
        await db.dispose()

    asyncio.run(main())
