"""The market service's long/short ratios: polled through python-binance, stored, served.

Reference values: the simulator's documented formulas computed with pandas
from the bundled candles (``tests/exchange/simulator/test_long_short.py``).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from avd.services.market.long_short import (
    LongShort,
    LongShortSettings,
    MemoryLongShortStore,
    latest_long_short,
)
from avd.store.database import Database
from avd.store.long_short import SqlLongShortStore
from tests.exchange.simulator.conftest import Sim, _start
from tests.exchange.simulator.test_long_short import d4, reference
from tests.platform import CHEAP_ARGON2, start_avd
from tests.polling import wait_until


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from _start(speed=1.0, paused=True)


def _row(t: int, x: float) -> dict[str, Any]:
    return {
        "timestamp": t,
        "global_ratio": x,
        "global_long": 0.5,
        "top_account_ratio": None,
        "top_account_long": None,
        "top_position_ratio": x * 2,
        "top_position_long": 0.25,
        "taker_ratio": 1.5,
        "taker_buy_vol": 3.0,
        "taker_sell_vol": 2.0,
    }


def test_the_sql_store_replaces_rows_and_reads_the_newest(database_url: str) -> None:
    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        db = Database(database_url)
        await db.upgrade()
        try:
            store = SqlLongShortStore(db)
            await store.upsert("BTCUSDT", "5m", [_row(t, 1.0) for t in (300_000, 0, 600_000)])
            await store.upsert("BTCUSDT", "5m", [_row(600_000, 2.5)])  # replaced
            await store.upsert("BTCUSDT", "1h", [_row(0, 9.0)])
            return (
                await store.tail("BTCUSDT", "5m", 2),
                await store.tail("BTCUSDT", "1h", 10),
                await store.tail("ETHUSDT", "5m", 10),
            )
        finally:
            await db.dispose()

    five, hour, none = asyncio.run(go())
    assert five == [_row(300_000, 1.0), _row(600_000, 2.5)]
    assert hour == [_row(0, 9.0)]
    assert none == []


def test_a_poll_through_python_binance_stores_the_four_statistics(sim: Sim) -> None:
    settings = LongShortSettings(enabled=True, periods=["1h", "4h"], limit=10)
    ls = LongShort(settings, MemoryLongShortStore(), ["BTCUSDT"])

    async def go() -> tuple[int, list[dict[str, Any]], dict[str, Any] | None, Any]:
        c = await sim.create()
        try:
            stored = await ls.poll_once(c)
        finally:
            await c.close_connection()
        rows = await ls.rows("BTCUSDT", "1h", 100)
        return stored, rows, await latest_long_short(ls, "BTCUSDT"), await ls.latest("NOPE")

    stored, rows, latest, nothing = asyncio.run(go())
    assert ls.errors == 0
    assert stored == 10 + 6  # 10 hours; the bundled data's day has six 4h periods
    assert len(rows) == 10 and latest == rows[-1] and nothing is None
    ref = {k: reference("BTCUSDT", "1h", k).tail(10) for k in ("global", "top_position")}
    for row, (_, g), (_, p) in zip(
        rows, ref["global"].iterrows(), ref["top_position"].iterrows(), strict=True
    ):
        assert row["timestamp"] == g["timestamp"]
        if not pd.isna(g["long"]):
            assert row["global_long"] == float(d4(g["long"]))
        assert row["top_position_long"] == float(d4(p["long"]))
        assert row["taker_buy_vol"] == float(d4(g["buy"]))
        assert row["taker_sell_vol"] == float(d4(g["volume"] - g["buy"]))
    assert asyncio.run(latest_long_short(None, "BTCUSDT")) is None


def test_the_service_polls_and_serves_long_short(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    config = folder / "platform.json"
    config.write_text(
        json.dumps(
            {
                "client": {"argon2": CHEAP_ARGON2},
                "market": {
                    "symbols": ["BTCUSDT", "ETHUSDT"],
                    "long_short": {"enabled": True, "periods": ["1h"], "poll_s": 1},
                },
            }
        )
    )
    running = start_avd(
        folder, "serve", "market", "--config", str(config), "--data-dir", str(folder / "data")
    )
    try:
        url = running.url

        def served() -> list[dict[str, Any]] | None:
            r = httpx.get(f"{url}/symbols/ETHUSDT/long-short", params={"period": "1h"})
            assert r.status_code == 200, r.text
            return r.json()["rows"] or None  # type: ignore[no-any-return]

        rows = wait_until(served, "long/short rows of ETHUSDT", timeout=60)
        ref = reference("ETHUSDT", "1h", "top_account").set_index("timestamp")
        for row in rows:
            want = ref.loc[row["timestamp"]]
            if not pd.isna(want["long"]):
                assert row["top_account_long"] == float(d4(want["long"]))
            assert row["taker_buy_vol"] == float(d4(want["buy"]))
        ts = [r["timestamp"] for r in rows]
        assert ts == sorted(ts) and len(set(ts)) == len(ts)
        bad = httpx.get(f"{url}/symbols/ETHUSDT/long-short", params={"period": "3m"})
        assert bad.status_code == 400 and bad.json()["error"] == "bad_parameters"
        other = httpx.get(f"{url}/symbols/ETHUSDT/long-short", params={"period": "5m"})
        assert other.status_code == 404 and "not polled" in other.json()["detail"]
        nope = httpx.get(f"{url}/symbols/SOLUSDT/long-short", params={"period": "1h"})
        assert nope.status_code == 404 and "SOLUSDT" in nope.json()["detail"]
        big = httpx.get(f"{url}/symbols/ETHUSDT/long-short", params={"limit": 501})
        assert big.status_code == 400
    finally:
        running.stop(signal.SIGTERM)
