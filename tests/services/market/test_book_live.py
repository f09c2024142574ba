"""The collector's live order books and trade flow against the local simulator.

The real python-binance client streams ``btcusdt@depth@100ms`` and
``btcusdt@aggTrade`` from the simulator over loopback and fetches its REST
snapshots; the book is checked against the simulator's own book (its
``GET /api/v3/depth`` once the replay is paused), after a depth event was
dropped on the way in (a gap the book must detect and resync from).

That comparison needs a simulator whose diff stream follows its own
snapshots (issue 14's consistent book): a book recomputed from the last
price cannot be followed, and the comparison, made last, then fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from avd.domain.events import Event, KlineReceived
from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.exchange.simulator.client import SimClient
from avd.runtime.hub import EventHub
from avd.services.market.candle_history import MemoryCandleHistory
from avd.services.market.collector import CollectorSettings, MarketDataCollector
from avd.services.market.settings import BookSettings
from tests.polling import until

START = datetime(2026, 4, 20, tzinfo=UTC)
MINUTE = 60_000


@pytest.fixture
def sim() -> Iterator[BackgroundSimulator]:
    cfg = SimConfig(step_ms=6000, start=START, port=0, speed=600.0, symbols=["BTCUSDT", "ETHUSDT"])
    bg = BackgroundSimulator(cfg).start()
    try:
        yield bg
    finally:
        bg.stop()


def collector_for(bg: BackgroundSimulator, hub: EventHub, **kw: Any) -> MarketDataCollector:
    client = SimClient(bg.address)
    settings = CollectorSettings(
        symbols=["BTCUSDT", "ETHUSDT"],
        intervals=["1m"],
        warmup_bars=50,
        silence_timeout_s=5,
        reconnect_delay_s=0.1,
        **kw,
    )
    return MarketDataCollector(
        settings,
        hub,
        MemoryCandleHistory(),
        client.create,
        lambda c, q: client.socket_manager(c, max_queue_size=q),
    )


def test_live_book_detects_a_dropped_event_resyncs_and_equals_the_simulators_book(
    sim: BackgroundSimulator,
) -> None:
    closed: list[KlineReceived] = []

    async def main() -> None:
        hub = EventHub()

        async def on(e: Event) -> None:
            if isinstance(e, KlineReceived) and e.closed and e.event_time:
                closed.append(e)

        hub.subscribe("closed", on, KlineReceived)
        hub.start()
        col = collector_for(sim, hub, book_symbols=["BTCUSDT"], book=BookSettings(depth_bps=50))
        await col.start()
        try:
            keeper = col.books
            assert keeper is not None and set(keeper.books) == {"BTCUSDT"}
            sb = keeper.books["BTCUSDT"]
            await until(
                lambda: sb.book.state == "synced" and sb.diffs > 20, "book synced", timeout=30
            )
            assert sb.book.gaps == 0
            first_resyncs = sb.resyncs

            # drop one depth event on the way in: the next one reveals the gap
            real = keeper.on_message
            dropped: list[int] = []

            def dropping(data: dict[str, Any]) -> None:
                if not dropped and data.get("e") == "depthUpdate":
                    dropped.append(int(data["u"]))
                    return
                real(data)

            keeper.on_message = dropping  # type: ignore[method-assign]
            await until(lambda: sb.book.gaps == 1, "the gap detected", timeout=20)
            await until(
                lambda: sb.book.state == "synced" and sb.book.last_update_id > dropped[0] + 5,
                "resynced",
                timeout=30,
            )
            assert sb.resyncs > first_resyncs
            assert sb.book.snapshots >= 2
            await until(lambda: len(closed) >= 4, "closed candles streamed", timeout=30)
            async with httpx.AsyncClient(base_url=f"http://{sim.address}") as http:
                r = await http.post("/sim/admin/pause")
                assert r.status_code == 200

                async def sim_book() -> dict[str, Any]:
                    r = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 20})
                    assert r.status_code == 200, r.text
                    out: dict[str, Any] = r.json()
                    return out

                snap = await sim_book()
                await until(
                    lambda: sb.book.last_update_id == snap["lastUpdateId"],
                    "the book at the simulator's last update id",
                    timeout=20,
                )
            # the flow: one closed candle per closed kline since the books started
            view = keeper.flow_view("BTCUSDT", "1m", 1000)
            assert view is not None and view["long_short"] is None
            kline_opens = {k.open_time for k in closed if k.symbol == "BTCUSDT"}
            rows = {c["open_time"]: c for c in view["candles"]}
            assert kline_opens & set(rows), (kline_opens, list(rows))
            synced_rows = [c for c in rows.values() if c["book_synced"]]
            assert synced_rows and all(c["mid"] is not None for c in synced_rows)
            assert sb.trades > 0
            health = col.health()["books"]
            assert health["symbols"]["BTCUSDT"]["resyncs"] == sb.resyncs
            assert health["connection"]["connected"]
            # last: the simulator's own book
            assert sb.book.bids(20) == [(float(p), float(q)) for p, q in snap["bids"]]
            assert sb.book.asks(20) == [(float(p), float(q)) for p, q in snap["asks"]]
        finally:
            await col.stop()
            await hub.stop()

    asyncio.run(main())


def test_book_symbols_must_be_tracked() -> None:
    s = CollectorSettings(symbols=["BTCUSDT"], book_symbols=["ETHUSDT"])
    with pytest.raises(ValueError, match=r"book_symbols \['ETHUSDT'\] are not tracked"):
        s.books(["BTCUSDT"])
    every = CollectorSettings(symbols=["*USDT"], book_symbols=["*"])
    assert every.books(["BTCUSDT", "ETHUSDT"]) == ["BTCUSDT", "ETHUSDT"]
    # a shard keeps the books of its own symbols; another shard keeps the rest
    shard = CollectorSettings(symbols=["BTCUSDT"], book_symbols=["BTCUSDT", "ETHUSDT"], shard="0/2")
    assert shard.books(["BTCUSDT"]) == ["BTCUSDT"]
    with pytest.raises(ValueError, match="not Binance symbols"):
        CollectorSettings(symbols=["BTCUSDT"], book_symbols=["btc"])
