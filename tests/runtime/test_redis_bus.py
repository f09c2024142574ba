"""The Redis Streams transport on a real redis-server.

What Redis holds is read back with redis-py's own commands (``XPENDING``,
``XLEN``, ``XRANGE``): the reference for "acknowledged", "pending" and "capped"
is Redis itself, not the transport's counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from avd.domain.events import CandleEvaluated, Event, KlineReceived, SignalGenerated
from avd.exceptions import ConfigError
from avd.runtime.bus import InProcessTransport, RedisTransport, transport, worker_group
from avd.runtime.hub import EventHub
from avd.runtime.standalone import trade_bus
from avd.services.trade.settings import TradeSettings
from avd.settings import BusSettings, load_settings
from tests.polling import until
from tests.redis_server import RedisServer


def kline(i: int, *, closed: bool = True, symbol: str = "BTCUSDT") -> KlineReceived:
    return KlineReceived(
        symbol=symbol,
        interval="1m",
        open_time=i * 60_000,
        open=1.0 + i,
        high=2.0 + i,
        low=0.5 + i,
        close=1.5 + i,
        volume=10.0 * i,
        closed=closed,
    )


def signal(i: int) -> SignalGenerated:
    return SignalGenerated(
        symbol="ETHUSDT",
        interval="1m",
        side="BUY",
        confidence=0.75,
        reason=f"r{i}",
        generated_at=i,
        score=80.0,
        pattern="p",
        price=100.0 + i,
    )


def wire(e: Event) -> bytes:
    """An event as JSON (NaN as null: two NaNs compare equal)."""
    return orjson.dumps(e.to_dict())


def bus(server: RedisServer, **options: Any) -> BusSettings:
    return BusSettings(url=server.url, **options)


class Node:
    """A hub and its transport (one process of the deployment)."""

    def __init__(
        self,
        server: RedisServer,
        *,
        publish: tuple[str, ...] = (),
        consume: tuple[str, ...] = (),
        handler: Callable[[Event], Awaitable[None]] | None = None,
        **options: Any,
    ) -> None:
        self.hub = EventHub()
        self.got: list[Event] = []

        async def keep(e: Event) -> None:
            self.got.append(e)

        if consume:
            self.hub.subscribe("sink", handler or keep)
        self.bus = RedisTransport(
            self.hub, bus(server, **options), publish=publish, consume=consume, group="trade"
        )

    async def start(self) -> Node:
        self.hub.start()
        await self.bus.start()
        await until(self.bus.connected.is_set, "the transport connected")
        return self

    async def stop(self) -> None:
        await self.bus.stop()
        await self.hub.stop()


async def pending(r: Redis, stream: str = "avd:market", group: str = "trade") -> int:
    info = await r.xpending(stream, group)
    return int(info["pending"])


def test_events_cross_in_order_and_equal_to_what_was_published(redis_server: RedisServer) -> None:
    async def main() -> None:
        consumer = await Node(redis_server, consume=("market",)).start()
        producer = await Node(redis_server, publish=("market",)).start()
        sent: list[Event] = []
        for i in range(1, 201):
            ev: Event = CandleEvaluated(kline=kline(i)) if i % 2 else signal(i)
            sent.append(ev)
            await producer.hub.publish(ev)
        # a closed kline alone stays home: it crosses inside its CandleEvaluated
        await producer.hub.publish(kline(999))
        await until(lambda: len(consumer.got) >= len(sent), "every event crossed")
        assert [wire(e) for e in consumer.got] == [wire(e) for e in sent]
        r = Redis.from_url(redis_server.url)
        await until(lambda: _zero(pending(r)), "every entry acknowledged")
        await r.aclose()
        await producer.stop()
        await consumer.stop()

    asyncio.run(main())


async def _zero(value: Awaitable[int]) -> bool:
    return await value == 0


def test_an_entry_is_acknowledged_only_after_its_handler_returned(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        gate = asyncio.Event()
        handled: list[Event] = []

        async def slow(e: Event) -> None:
            await gate.wait()
            handled.append(e)

        consumer = await Node(redis_server, consume=("market",), handler=slow).start()
        producer = await Node(redis_server, publish=("market",)).start()
        await producer.hub.publish(signal(1))
        r = Redis.from_url(redis_server.url)
        await until(lambda: consumer.bus.counters["consumed"] == 1, "the entry read")
        assert await pending(r) == 1  # read, being handled: not acknowledged
        assert handled == []
        gate.set()
        await until(lambda: _zero(pending(r)), "acknowledged once handled")
        assert [e.to_dict() for e in handled] == [signal(1).to_dict()]
        await r.aclose()
        await producer.stop()
        await consumer.stop()

    asyncio.run(main())


def test_entries_a_dead_consumer_left_pending_are_claimed_by_another(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        async def never(e: Event) -> None:
            await asyncio.Event().wait()

        dying = await Node(
            redis_server, consume=("market",), handler=never, consumer="dying", claim_idle_s=0.3
        ).start()
        producer = await Node(redis_server, publish=("market",)).start()
        for i in range(1, 6):
            await producer.hub.publish(signal(i))
        await until(lambda: dying.bus.counters["consumed"] == 5, "the dying consumer read all")
        await dying.stop()  # it dies with five entries read and none handled
        r = Redis.from_url(redis_server.url)
        assert await pending(r) == 5
        heir = await Node(
            redis_server, consume=("market",), consumer="heir", claim_idle_s=0.3
        ).start()
        await until(lambda: len(heir.got) == 5, "the heir handled the dead one's entries")
        assert [e.to_dict() for e in heir.got] == [signal(i).to_dict() for i in range(1, 6)]
        await until(lambda: _zero(pending(r)), "the claimed entries acknowledged")
        assert heir.bus.counters["claimed"] == 5
        await r.aclose()
        await heir.stop()
        await producer.stop()

    asyncio.run(main())


def test_a_restarted_consumer_resumes_where_its_group_stopped(redis_server: RedisServer) -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def stuck_on_3(e: Event) -> None:
            assert isinstance(e, SignalGenerated)
            if e.generated_at == 3:
                await gate.wait()
            first.append(e)

        first: list[Event] = []
        one = await Node(
            redis_server, consume=("market",), handler=stuck_on_3, consumer="c1"
        ).start()
        producer = await Node(redis_server, publish=("market",)).start()
        for i in (1, 2, 3):
            await producer.hub.publish(signal(i))
        await until(lambda: len(first) == 2, "1 and 2 handled")
        await one.stop()  # stops with 3 read, not handled
        for i in (4, 5, 6):  # published while no consumer runs
            await producer.hub.publish(signal(i))
        await producer.bus.flushed()
        # the same consumer name: its own pending entry first, then where the group stopped
        again = await Node(redis_server, consume=("market",), consumer="c1").start()
        await until(lambda: len(again.got) == 4, "3 to 6 handled after the restart")
        assert [e.generated_at for e in again.got if isinstance(e, SignalGenerated)] == [
            3,
            4,
            5,
            6,
        ]
        r = Redis.from_url(redis_server.url)
        await until(lambda: _zero(pending(r)), "all acknowledged")
        await r.aclose()
        await again.stop()
        await producer.stop()

    asyncio.run(main())


def test_a_new_group_starts_at_the_end_of_the_stream(redis_server: RedisServer) -> None:
    async def main() -> None:
        producer = await Node(redis_server, publish=("market",)).start()
        await producer.hub.publish(signal(1))
        await producer.bus.flushed()
        late = await Node(redis_server, consume=("market",), group="late").start()
        await until(lambda: late.bus.counters["consumed"] == 0 and late.bus.connected.is_set(), "")
        # the group exists once the reader ran: then a new event is the first it gets
        r = Redis.from_url(redis_server.url)
        await until(lambda: _groups(r, "avd:market", "late"), "the group created")
        await producer.hub.publish(signal(2))
        await until(lambda: len(late.got) == 1, "the event published after it joined")
        assert isinstance(late.got[0], SignalGenerated) and late.got[0].generated_at == 2
        await r.aclose()
        await late.stop()
        await producer.stop()

    asyncio.run(main())


async def _groups(r: Redis, stream: str, group: str) -> bool:
    return any(g["name"].decode() == group for g in await r.xinfo_groups(stream))


def test_streams_are_capped_near_maxlen(redis_server: RedisServer) -> None:
    async def main() -> None:
        producer = await Node(redis_server, publish=("market",), maxlen=100).start()
        for i in range(1, 2001):
            await producer.hub.publish(signal(i))
        await producer.bus.flushed()
        r = Redis.from_url(redis_server.url)
        length = await r.xlen("avd:market")
        # MAXLEN ~ trims whole nodes (100 entries each by default): at least the cap is
        # kept, and less than a node more (Redis's documented approximation)
        assert 100 <= length < 200 + 100, length
        newest = await r.xrevrange("avd:market", count=1)
        assert orjson.loads(newest[0][1][b"e"])["generated_at"] == 2000
        await r.aclose()
        await producer.stop()

    asyncio.run(main())


def test_a_duplicate_entry_is_handled_once(redis_server: RedisServer) -> None:
    async def main() -> None:
        consumer = await Node(redis_server, consume=("market",)).start()
        r = Redis.from_url(redis_server.url)
        await until(lambda: _groups(r, "avd:market", "trade"), "the group created")
        fields = {"e": orjson.dumps(signal(7).to_dict()), "src": "p1", "seq": 1}
        await r.xadd("avd:market", fields)  # type: ignore[arg-type]
        await r.xadd("avd:market", fields)  # the same batch sent again after a lost reply
        await r.xadd("avd:market", {"e": b"not json", "src": "p1", "seq": 2})
        await r.xadd("avd:market", {**fields, "seq": 3})  # a new entry with equal content
        await until(lambda: _zero(pending(r)), "all acknowledged")
        assert len(consumer.got) == 2
        assert consumer.bus.counters["duplicates"] == 1
        assert consumer.bus.counters["undecodable"] == 1
        await r.aclose()
        await consumer.stop()

    asyncio.run(main())


def test_redis_killed_and_restarted_nothing_acknowledged_is_lost(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        consumer = await Node(redis_server, consume=("market",)).start()
        producer = await Node(redis_server, publish=("market",)).start()
        for i in range(1, 51):
            await producer.hub.publish(signal(i))
        await until(lambda: len(consumer.got) == 50, "the first fifty")
        redis_server.kill()
        await until(lambda: not producer.bus.connected.is_set(), "the producer saw it go")
        await until(lambda: not consumer.bus.connected.is_set(), "the consumer saw it go")
        health = consumer.bus.health()
        assert health["connected"] is False and health["down_since"] is not None
        assert health["last_error"]
        for i in range(51, 101):  # published while Redis is down: buffered
            await producer.hub.publish(signal(i))
        assert producer.bus.health()["waiting_to_publish"] > 0
        redis_server.start()
        await until(lambda: len(consumer.got) >= 100, "the rest after the restart", timeout=60)
        got = [e.generated_at for e in consumer.got if isinstance(e, SignalGenerated)]
        assert got == list(range(1, 101))
        assert consumer.bus.health()["connected"] is True
        assert consumer.bus.counters["reconnects"] >= 1
        assert producer.bus.counters["reconnects"] >= 1
        r = Redis.from_url(redis_server.url)
        await until(lambda: _zero(pending(r)), "all acknowledged")
        await r.aclose()
        await producer.stop()
        await consumer.stop()

    asyncio.run(main())


def test_redis_restarted_without_its_data_the_group_is_created_again() -> None:
    server = RedisServer(persist=False).start()

    async def main() -> None:
        consumer = await Node(server, consume=("market",)).start()
        producer = await Node(server, publish=("market",)).start()
        await producer.hub.publish(signal(1))
        await until(lambda: len(consumer.got) == 1, "the first")
        server.kill()
        await until(lambda: not consumer.bus.connected.is_set(), "the consumer saw it go")
        await producer.hub.publish(signal(2))
        server.start()  # empty: no stream, no group
        await until(lambda: len(consumer.got) == 2, "the event published across the loss")
        assert isinstance(consumer.got[1], SignalGenerated) and consumer.got[1].generated_at == 2
        await producer.stop()
        await consumer.stop()

    try:  # bounded: a hang fails with where it hung instead of stalling the suite
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        server.close()


def test_without_a_bus_the_transport_is_in_process() -> None:
    t = transport(EventHub(), None, publish=("market",))
    assert isinstance(t, InProcessTransport)
    assert t.health() == {"kind": "in-process", "connected": True}


def test_bus_settings_from_a_url_or_an_object_and_clear_errors() -> None:
    assert BusSettings.model_validate("redis://h:6379/0").url == "redis://h:6379/0"
    s = load_settings(TradeSettings, bus={"url": "redis://h/1", "maxlen": 500, "group": "t2"})
    assert s.bus is not None and (s.bus.maxlen, s.bus.group) == (500, "t2")
    assert "***" in repr(BusSettings(url="redis://u:secret@h:1/0"))
    assert "secret" not in repr(BusSettings(url="redis://u:secret@h:1/0"))
    with pytest.raises(ConfigError, match=r"bus\.url"):
        load_settings(TradeSettings, bus="http://h:6379")
    with pytest.raises(ConfigError, match="maxlen"):
        load_settings(TradeSettings, bus={"url": "redis://h", "maxlen": 1})
    with pytest.raises(ValueError, match="both publish and consume"):
        RedisTransport(
            EventHub(), BusSettings(url="redis://h"), publish=["market"], consume=["market"]
        )


def test_an_error_retrying_cannot_mend_is_reported_not_swallowed(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        r = Redis.from_url(redis_server.url)
        await r.set("avd:market", "not a stream")  # another program's key
        consumer = Node(redis_server, consume=("market",))
        consumer.hub.start()
        await consumer.bus.start()
        await until(lambda: consumer.bus.failed, "the reader's failure reported")
        h = consumer.bus.health()
        assert h["connected"] is False and "WRONGTYPE" in h["failed"], h
        await consumer.stop()
        await r.aclose()

    asyncio.run(main())


def test_an_entry_in_hand_when_redis_restarts_is_handled_once_and_acknowledged_after(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        gate = asyncio.Event()
        handled: list[Event] = []

        async def slow(e: Event) -> None:
            await gate.wait()
            handled.append(e)

        consumer = await Node(redis_server, consume=("market",), handler=slow).start()
        producer = await Node(redis_server, publish=("market",)).start()
        await producer.hub.publish(signal(1))
        await until(lambda: consumer.bus.counters["consumed"] == 1, "the entry in hand")
        redis_server.kill()
        await until(lambda: not consumer.bus.connected.is_set(), "Redis seen gone")
        redis_server.start()  # its append-only file: the entry is still pending for us
        await until(consumer.bus.connected.is_set, "reconnected")
        r = Redis.from_url(redis_server.url)
        assert await pending(r) == 1
        gate.set()
        await until(lambda: _zero(pending(r)), "acknowledged after the reconnect")
        await producer.hub.publish(signal(2))
        await until(lambda: len(handled) == 2, "the next one")
        assert [e.generated_at for e in handled if isinstance(e, SignalGenerated)] == [1, 2]
        await r.aclose()
        await producer.stop()
        await consumer.stop()

    asyncio.run(main())


def test_trade_workers_read_in_a_group_each() -> None:
    alone = trade_bus(EventHub(), load_settings(TradeSettings, bus="redis://h/0"))
    assert isinstance(alone, RedisTransport) and (alone.group, alone.resume) == ("trade", True)
    workers = {"workers": {"leases": True, "worker_id": "w1"}}
    one = trade_bus(EventHub(), load_settings(TradeSettings, bus="redis://h/0", engine=workers))
    assert isinstance(one, RedisTransport) and (one.group, one.resume) == ("trade.w1", False)
    named = trade_bus(
        EventHub(),
        load_settings(TradeSettings, bus={"url": "redis://h/0", "group": "g"}, engine=workers),
    )
    assert isinstance(named, RedisTransport) and named.group == "g"
    # a group name holds [A-Za-z0-9_.:-] only, at most 64 characters, one per worker
    assert worker_group("host-1:4242") == "trade.host-1:4242"
    assert worker_group("hôte 7/a") == "trade.h-te-7-a"
    long_a, long_b = worker_group("x" * 100 + "a"), worker_group("x" * 100 + "b")
    assert len(long_a) == len(long_b) == 64 and long_a != long_b
    assert BusSettings(url="redis://h", group=long_a).group == long_a


def test_each_trade_worker_gets_every_market_event_and_starts_afresh(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        def worker(name: str, handler: Callable[[Event], Awaitable[None]] | None = None) -> Node:
            node = Node(redis_server, consume=("market",), handler=handler)
            node.bus = RedisTransport(
                node.hub,
                bus(redis_server, consumer=name),
                consume=("market",),
                group=worker_group(name),
                resume=False,
            )
            return node

        w1, w2 = await worker("w1").start(), await worker("w2").start()
        r = Redis.from_url(redis_server.url)
        for g in ("trade.w1", "trade.w2"):
            await until(lambda g=g: _groups(r, "avd:market", g), f"the group {g}")
        producer = await Node(redis_server, publish=("market",)).start()
        for i in (1, 2, 3):
            await producer.hub.publish(signal(i))
        for w in (w1, w2):  # not split: each worker gets all three
            await until(lambda w=w: len(w.got) == 3, "every event at every worker")
            assert [e.generated_at for e in w.got if isinstance(e, SignalGenerated)] == [1, 2, 3]
        # w1 goes away with an entry read but not handled; more come while it is away
        gate = asyncio.Event()

        async def stuck(e: Event) -> None:
            await gate.wait()

        await w1.stop()
        w1 = await worker("w1", stuck).start()
        await producer.hub.publish(signal(4))
        await until(lambda: _one(pending(r, group="trade.w1")), "4 read by w1, not handled")
        await w1.stop()
        for i in (5, 6):
            await producer.hub.publish(signal(i))
        await producer.bus.flushed()
        # back under the same name: neither its pending entry nor what it missed
        # (the workers that took its clients over handled those), only what comes next
        w1 = await worker("w1").start()
        await until(lambda: _zero(pending(r, group="trade.w1")), "the old pending entry dropped")
        await producer.hub.publish(signal(7))
        await until(lambda: len(w1.got) == 1, "the event published after the restart")
        assert [e.generated_at for e in w1.got if isinstance(e, SignalGenerated)] == [7]
        await until(lambda: len(w2.got) == 7, "w2 got everything meanwhile")
        await r.aclose()
        for n in (w1, w2, producer):
            await n.stop()

    asyncio.run(main())


async def _one(n: Awaitable[int]) -> bool:
    return await n == 1
