"""The platform's stop leaves nothing half-written.

Closed candles are stored in the background (write-behind); before the fix
the platform's stop never wrote the ones still queued, so a stop lost the
newest candles of the history the next start warms up from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from avd.domain.events import KlineReceived
from avd.history import Candles
from avd.runtime.platform import Platform, PlatformSettings
from avd.services.client.settings import ClientSettings
from avd.store.candles import SqlCandleHistory
from avd.store.database import Database

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}


def test_stop_writes_the_candles_still_queued_for_the_database(
    tmp_path: Path, btc_1m: Candles
) -> None:
    url = f"sqlite:///{tmp_path / 'client.db'}"
    settings = PlatformSettings(
        data_dir=tmp_path, client=ClientSettings(database_url=url, argon2=CHEAP_ARGON2)
    )
    n = 30
    klines = [
        KlineReceived(
            symbol="BTCUSDT",
            interval="1m",
            open_time=int(btc_1m.open_time[i]),
            open=float(btc_1m.open[i]),
            high=float(btc_1m.high[i]),
            low=float(btc_1m.low[i]),
            close=float(btc_1m.close[i]),
            volume=float(btc_1m.volume[i]),
            closed=True,
        )
        for i in range(n)
    ]

    async def main() -> Candles | None:
        platform = Platform(settings)
        assert platform.client is not None
        await platform.client.start()  # the schema
        # queued, not yet written (the background writer has not run)
        await platform.history_writer.append(klines)
        await platform.stop()
        db = Database(url)
        try:
            return await SqlCandleHistory(db).tail("BTCUSDT", "1m", 1000)
        finally:
            await db.dispose()

    stored = asyncio.run(main())
    assert stored is not None, "the queued candles were lost"
    assert stored.open_time.tolist() == btc_1m.open_time[:n].tolist()
    np.testing.assert_array_equal(stored.close, btc_1m.close[:n])
    np.testing.assert_array_equal(stored.volume, btc_1m.volume[:n])
