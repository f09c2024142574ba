"""The EventHub's guarantees: no closed candle lost, backpressure, coalescing
of in-progress updates, isolation of failing subscribers, observability."""

from __future__ import annotations

import asyncio

import pytest

from avd.domain.events import Event, KlineReceived, SignalGenerated
from avd.runtime.hub import EventHub
from tests.polling import until


def kline(
    i: int, closed: bool = True, symbol: str = "BTCUSDT", close: float = 1.0
) -> KlineReceived:
    return KlineReceived(
        symbol=symbol,
        interval="1m",
        open_time=i * 60_000,
        open=1.0,
        high=1.0,
        low=1.0,
        close=close,
        volume=1.0,
        closed=closed,
    )


def test_a_slow_subscriber_gets_every_closed_candle_in_order_through_backpressure() -> None:
    async def main() -> None:
        hub = EventHub()
        gate = asyncio.Event()
        got: list[int] = []

        async def slow(e: Event) -> None:
            await gate.wait()
            assert isinstance(e, KlineReceived)
            got.append(e.open_time)

        sub = hub.subscribe("slow", slow, KlineReceived, maxsize=2)
        hub.start()
        publisher = asyncio.create_task(_publish_all(hub, [kline(i) for i in range(10)]))
        # one event in the handler, two queued: the third publish waits for room
        await until(lambda: sub.stats.blocked_publishes >= 1, "the publisher to block", timeout=5)
        assert not publisher.done(), "the publisher must wait while the queue is full"
        assert sub.stats.depth == 2
        gate.set()
        await asyncio.wait_for(publisher, 5)
        await asyncio.wait_for(hub.drain(), 5)
        assert got == [i * 60_000 for i in range(10)]
        assert sub.stats.blocked_publishes >= 1
        assert sub.stats.high_water == 2
        await hub.stop()

    asyncio.run(main())


async def _publish_all(hub: EventHub, events: list[Event]) -> None:
    for e in events:
        await hub.publish(e)


def test_in_progress_updates_coalesce_per_symbol_and_never_block() -> None:
    async def main() -> None:
        hub = EventHub()
        gate = asyncio.Event()
        got: list[tuple[str, bool, float]] = []
        handling = asyncio.Event()

        async def slow(e: Event) -> None:
            handling.set()
            await gate.wait()
            assert isinstance(e, KlineReceived)
            got.append((e.symbol, e.closed, e.close))

        sub = hub.subscribe("slow", slow, maxsize=3)
        hub.start()
        await hub.publish(kline(0, closed=True))
        await asyncio.wait_for(handling.wait(), 5)  # the first event is now in the handler
        for k in range(100):
            await hub.publish(kline(1, closed=False, close=float(k)))
            await hub.publish(kline(1, closed=False, symbol="ETHUSDT", close=float(k)))
        await hub.publish(kline(1, closed=True, close=99.5))
        gate.set()
        await asyncio.wait_for(hub.drain(), 5)
        assert got == [
            ("BTCUSDT", True, 1.0),
            ("BTCUSDT", False, 99.0),  # 100 updates merged into the latest
            ("ETHUSDT", False, 99.0),
            ("BTCUSDT", True, 99.5),
        ]
        assert sub.stats.coalesced == 198
        await hub.stop()

    asyncio.run(main())


def test_updates_are_dropped_not_waited_for_when_the_queue_is_full_of_closed_candles() -> None:
    async def main() -> None:
        hub = EventHub()
        gate = asyncio.Event()

        async def slow(e: Event) -> None:
            await gate.wait()

        sub = hub.subscribe("slow", slow, maxsize=2)
        hub.start()
        for i in range(3):
            await hub.publish(kline(i))  # one in the handler, two queued
        await asyncio.wait_for(hub.publish(kline(9, closed=False)), 1)
        assert sub.stats.dropped_updates == 1
        gate.set()
        await asyncio.wait_for(hub.drain(), 5)
        await hub.stop()

    asyncio.run(main())


def test_a_failing_subscriber_is_isolated_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        hub = EventHub()
        good: list[Event] = []

        async def broken(e: Event) -> None:
            raise RuntimeError("boom")

        async def fine(e: Event) -> None:
            good.append(e)

        bad_sub = hub.subscribe("broken", broken)
        hub.subscribe("fine", fine)
        hub.start()
        for i in range(5):
            await hub.publish(kline(i))
        await asyncio.wait_for(hub.drain(), 5)
        assert len(good) == 5
        assert bad_sub.stats.errors == 5 and bad_sub.stats.delivered == 5
        stats = hub.stats()
        assert stats["fine"]["delivered"] == 5 and stats["fine"]["errors"] == 0
        assert stats["fine"]["max_lag_ms"] >= 0
        await hub.stop()

    with caplog.at_level("ERROR"):
        asyncio.run(main())
    assert "subscriber 'broken' failed" in caplog.text


def test_subscribers_only_get_the_types_they_asked_for() -> None:
    async def main() -> None:
        hub = EventHub()
        got: list[str] = []

        async def on_signal(e: Event) -> None:
            got.append(type(e).__name__)

        hub.subscribe("signals", on_signal, SignalGenerated)
        hub.start()
        await hub.publish(kline(0))
        await hub.publish(
            SignalGenerated(
                symbol="BTCUSDT",
                interval="1m",
                side="BUY",
                confidence=0.8,
                reason="r",
                generated_at=0,
                score=80.0,
                pattern="breakout",
                price=1.0,
            )
        )
        await asyncio.wait_for(hub.drain(), 5)
        assert got == ["SignalGenerated"]
        with pytest.raises(ValueError, match="already exists"):
            hub.subscribe("signals", on_signal)
        await hub.stop()

    asyncio.run(main())


def test_events_serialise_with_their_type_name() -> None:
    d = kline(3, closed=False).to_dict()
    assert d["type"] == "KlineReceived" and d["open_time"] == 180_000 and "created_ns" not in d


def test_a_lossy_subscriber_drops_instead_of_slowing_the_publisher() -> None:
    async def main() -> None:
        hub = EventHub()
        gate = asyncio.Event()

        async def dashboard(e: Event) -> None:
            await gate.wait()

        sub = hub.subscribe("dashboard", dashboard, maxsize=2, lossy=True)
        hub.start()
        await asyncio.wait_for(_publish_all(hub, [kline(i) for i in range(10)]), 1)
        assert sub.stats.dropped >= 7  # at most one in the handler and two queued
        gate.set()
        await asyncio.wait_for(hub.drain(), 5)
        assert sub.stats.dropped + sub.stats.delivered == 10
        await hub.stop()

    asyncio.run(main())


def test_a_caller_cancelled_while_it_unsubscribes_stays_cancelled() -> None:
    # a WebSocket handler unsubscribes in its cleanup; if the server cancels it
    # meanwhile, swallowing that cancellation would keep the handler running
    async def main() -> None:
        hub = EventHub()

        async def handler(e: Event) -> None:
            pass

        sub = hub.subscribe("ws", handler, KlineReceived)
        hub.start()
        caller = asyncio.create_task(hub.unsubscribe(sub))
        await asyncio.sleep(0)  # the caller now waits for the delivery task to end
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert caller.cancelled()

    asyncio.run(main())
