"""The collector against the local simulator, with the real python-binance
client over loopback: dropped connections, rate limits, restarts."""

from __future__ import annotations

import asyncio
import csv
import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from avd.domain.events import Event, KlineReceived
from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.exchange.simulator.client import SimClient
from avd.history import Candles, sample_dir
from avd.runtime.hub import EventHub
from avd.services.market.candle_history import MemoryCandleHistory
from avd.services.market.collector import CollectorSettings, MarketDataCollector
from tests.polling import until

START = datetime(2026, 4, 20, tzinfo=UTC)
MINUTE = 60_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def source_rows(symbol: str) -> dict[int, list[str]]:
    """The bundled CSV, read with the standard library."""
    with gzip.open(sample_dir() / f"{symbol}-1m.csv.gz", "rt") as fh:
        return {int(r[0]): r for r in list(csv.reader(fh))[1:]}


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[BackgroundSimulator]:
    speed = getattr(request, "param", 600.0)
    cfg = SimConfig(step_ms=6000, start=START, port=0, speed=speed, symbols=["BTCUSDT", "ETHUSDT"])
    bg = BackgroundSimulator(cfg).start()
    try:
        yield bg
    finally:
        bg.stop()


def collector_for(
    bg: BackgroundSimulator, hub: EventHub, history: MemoryCandleHistory, **kw: Any
) -> MarketDataCollector:
    client = SimClient(bg.address)
    settings = CollectorSettings(
        **{
            "symbols": ["BTCUSDT", "ETHUSDT"],
            "intervals": ["1m"],
            "warmup_bars": 50,
            "silence_timeout_s": 5,
            "reconnect_delay_s": 0.1,
            **kw,
        }
    )
    return MarketDataCollector(
        settings,
        hub,
        history,
        client.create,
        lambda c, q: client.socket_manager(c, max_queue_size=q),
    )


def test_five_dropped_connections_lose_and_duplicate_no_candle(sim: BackgroundSimulator) -> None:
    history = MemoryCandleHistory()
    closed: list[KlineReceived] = []

    async def main() -> MarketDataCollector:
        hub = EventHub()

        async def on(e: Event) -> None:
            if isinstance(e, KlineReceived) and e.closed:
                closed.append(e)

        hub.subscribe("closed", on, KlineReceived)
        hub.start()
        col = collector_for(sim, hub, history)
        await col.start()
        health = col.connections[0]

        async def streaming(n: int) -> None:
            """Connection ``n`` is up and has streamed candles of both symbols."""
            await until(
                lambda: health.connected and health.connects == n, f"connection {n}", timeout=20
            )
            since = len(closed)

            def streamed() -> bool:
                # streamed, not backfilled (a fetched kline has no send time)
                live = [k.symbol for k in closed[since:] if k.event_time]
                return all(live.count(s) >= 2 for s in ("BTCUSDT", "ETHUSDT"))

            await until(streamed, f"candles streamed on connection {n}", timeout=20)

        async with httpx.AsyncClient(base_url=f"http://{sim.address}") as http:
            for n in range(1, 6):
                await streaming(n)
                r = await http.post("/sim/admin/drop")
                assert r.status_code == 200 and r.json()["dropped"] >= 1
            await streaming(6)
            r = await http.post("/sim/admin/pause")
            # the replay stops here: the last candle closed before its clock
            last = r.json()["now"] // MINUTE * MINUTE - MINUTE

        def arrived() -> bool:
            return all(
                any(k.symbol == s and k.open_time == last for k in closed)
                for s in ("BTCUSDT", "ETHUSDT")
            )

        await until(arrived, "the last closed candle of both symbols", timeout=20)
        await hub.drain()
        await col.stop()
        await hub.stop()
        return col

    col = asyncio.run(asyncio.wait_for(main(), 90))
    assert sum(h.reconnects for h in col.connections) >= 5
    for symbol in ("BTCUSDT", "ETHUSDT"):
        times = history.open_times(symbol, "1m")
        assert len(times) > 50 + 30, "warm-up plus the candles replayed meanwhile"
        assert times == list(range(times[0], times[-1] + MINUTE, MINUTE)), "a gap or a duplicate"
        src = source_rows(symbol)
        for k in (k for k in closed if k.symbol == symbol):
            row = src[k.open_time]
            assert (Decimal(row[1]), Decimal(row[4])) == (
                Decimal(str(k.open)),
                Decimal(str(k.close)),
            )
        published = [k.open_time for k in closed if k.symbol == symbol]
        assert published == sorted(set(published)), "published twice or out of order"
        assert published[0] == times[50], "streamed candles follow the warm-up without a hole"
    assert sum(s.backfilled for s in col.streams.values()) >= 1, (
        "the drops made backfills necessary"
    )


def test_a_429_with_retry_after_is_waited_out(sim: BackgroundSimulator) -> None:
    async def main() -> tuple[list[KlineReceived], MarketDataCollector, float]:
        hub = EventHub()
        col = collector_for(sim, hub, MemoryCandleHistory())
        col.client = await SimClient(sim.address).create()
        async with httpx.AsyncClient(base_url=f"http://{sim.address}") as http:
            r = await http.post(
                "/sim/admin/faults",
                json={
                    "http_status": 429,
                    "http_count": 1,
                    "http_path": "/api/v3/klines",
                    "retry_after": 2,
                },
            )
            assert r.status_code == 200
        t0 = asyncio.get_running_loop().time()
        rows = await col.fetch_latest_closed("BTCUSDT", "1m", 10)
        waited = asyncio.get_running_loop().time() - t0
        await col.client.close_connection()
        return rows, col, waited

    rows, col, waited = asyncio.run(asyncio.wait_for(main(), 60))
    assert len(rows) == 10
    assert col.limiter.stats.rate_limited == 1
    assert waited >= 2.0


@pytest.mark.parametrize("sim", [60.0], indirect=True)
def test_a_restart_warms_up_from_history_and_fetches_only_the_missing_tail(
    sim: BackgroundSimulator,
) -> None:
    history = MemoryCandleHistory()
    batches: list[Candles] = []

    async def on_history(c: Candles) -> None:
        batches.append(c)

    def newest(symbol: str) -> int:
        return history.open_times(symbol, "1m")[-1]

    async def session(streamed: Callable[[], bool]) -> MarketDataCollector:
        """Warm up (inside ``start``), then run until ``streamed()``."""
        hub = EventHub()
        hub.start()
        col = collector_for(sim, hub, history)
        col._on_history = on_history
        await col.start()
        await until(streamed, "candles streamed after the warm-up", timeout=30)
        await col.stop()
        await hub.stop()
        return col

    # the first run: the 50 candles of the warm-up, then two streamed per symbol
    asyncio.run(session(lambda: all(len(history.open_times(s, "1m")) >= 52 for s in SYMBOLS)))
    first_batches = len(batches)
    stored_before = {s: newest(s) for s in SYMBOLS}
    # the exchange moves on 4 candles while we are down (40 steps of 6 s)
    r = httpx.post(f"http://{sim.address}/sim/admin/step", json={"n": 40}, timeout=10)
    assert r.status_code == 200 and r.json()["stepped"] == 40
    # the restart: its warm-up, then one candle streamed after the fetched tail per symbol
    tail_end: dict[str, int] = {}

    def past_the_tail() -> bool:
        for tail in batches[first_batches + 1 :: 2]:
            tail_end[tail.symbol] = int(tail.open_time[-1])
        return len(tail_end) == 2 and all(newest(s) > tail_end[s] for s in SYMBOLS)

    asyncio.run(session(past_the_tail))
    restart = batches[first_batches:]
    # per symbol: the stored history first, then only the candles closed since
    stored, tails = restart[0::2], restart[1::2]
    for batch in stored:
        assert len(batch) == 50
    for tail in tails:
        assert 1 <= len(tail) <= 10, "only the missing tail is fetched"
        assert int(tail.open_time[0]) == stored_before[tail.symbol] + MINUTE
    for s in SYMBOLS:
        t = history.open_times(s, "1m")
        assert t == list(range(t[0], t[-1] + MINUTE, MINUTE))
