"""Events through the Redis Streams transport against the in-process hub, side by side.

One process, one event loop: a producer hub bridged to Redis (``publish``
market), a consumer hub bridged from it (``consume`` market, one consumer
group), a private redis-server on loopback (append-only, fsync every second
as a production Redis would run). The in-process peer is today's hub: one
subscriber, the same events.

* **throughput**: N signals published back to back; the clock stops when the
  consumer's subscriber has handled the last (and, on Redis, after each was
  acknowledged in Redis: ``XPENDING`` is empty).
* **latency**: one signal at a time, publish to handled, p50 and p99.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from redis.asyncio import Redis

from avd.domain.events import Event, SignalGenerated
from avd.runtime.bus import RedisTransport
from avd.runtime.hub import EventHub
from avd.settings import BusSettings
from benchmarks.conftest import RESULTS
from tests.polling import until
from tests.redis_server import RedisServer


def signal(i: int) -> SignalGenerated:
    return SignalGenerated(
        symbol="BTCUSDT",
        interval="1m",
        side="BUY",
        confidence=0.8,
        reason="bench",
        generated_at=i,
        score=80.0,
        pattern="p",
        price=100.0,
    )


@pytest.fixture
def redis_bench() -> Iterator[RedisServer]:
    server = RedisServer(persist=False).start()
    try:
        yield server
    finally:
        server.close()


class Pair:
    """A producer and a consumer, on Redis or on one hub."""

    def __init__(self, url: str | None) -> None:
        self.handled = 0
        self.last = asyncio.Event()
        self.target = 0
        self.stamp: dict[int, int] = {}
        self.lat: list[int] = []
        self.consumer = EventHub()
        self.producer = self.consumer if url is None else EventHub()

        async def sink(e: Event) -> None:
            assert isinstance(e, SignalGenerated)
            self.handled += 1
            t0 = self.stamp.pop(e.generated_at, None)
            if t0 is not None:
                self.lat.append(time.perf_counter_ns() - t0)
            if self.handled >= self.target:
                self.last.set()

        self.consumer.subscribe("sink", sink)
        self.buses: list[RedisTransport] = []
        if url is not None:
            s = BusSettings(url=url, maxlen=1_000_000)
            self.buses = [
                RedisTransport(self.producer, s, publish=("market",)),
                RedisTransport(self.consumer, s, consume=("market",), group="bench"),
            ]

    async def start(self) -> None:
        for hub in {id(self.producer): self.producer, id(self.consumer): self.consumer}.values():
            hub.start()
        for b in self.buses:
            await b.start()
            await until(b.connected.is_set, "redis")
        if self.buses:
            r = self.buses[1].redis
            await until(lambda: _has_group(r), "the consumer group")

    async def burst(self, n: int, start: int) -> float:
        self.handled, self.target = 0, n
        self.last.clear()
        t0 = time.perf_counter()
        for i in range(start, start + n):
            await self.producer.publish(signal(i))
        await self.last.wait()
        if self.buses:
            r = self.buses[1].redis
            await until(lambda: _acked(r), "every entry acknowledged", interval=0.001)
        return time.perf_counter() - t0

    async def one_by_one(self, n: int, start: int) -> list[int]:
        self.lat = []
        for i in range(start, start + n):
            self.handled, self.target = 0, 1
            self.last.clear()
            self.stamp[i] = time.perf_counter_ns()
            await self.producer.publish(signal(i))
            await self.last.wait()
        return self.lat

    async def stop(self) -> None:
        for b in self.buses:
            await b.stop()
        await self.consumer.stop()
        if self.producer is not self.consumer:
            await self.producer.stop()


async def _has_group(r: Redis) -> bool:
    return bool(await r.exists("avd:market"))


async def _acked(r: Redis) -> bool:
    info: Any = await r.xpending("avd:market", "bench")
    return int(info["pending"]) == 0


def measure(url: str | None, n: int, rounds: int, pings: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        pair = Pair(url)
        await pair.start()
        await pair.burst(min(n, 1000), 10_000_000)  # warm-up
        best = min([await pair.burst(n, k * n) for k in range(rounds)])
        lat = np.array(await pair.one_by_one(pings, 20_000_000)) / 1e3
        await pair.stop()
        return {
            "events_per_s": n / best,
            "p50_us": float(np.percentile(lat, 50)),
            "p99_us": float(np.percentile(lat, 99)),
        }

    return asyncio.run(main())


def test_redis_transport_against_the_in_process_hub(
    benchmark: Any, redis_bench: RedisServer
) -> None:
    smoke = benchmark.disabled
    n, rounds, pings = (500, 1, 50) if smoke else (20_000, 3, 2_000)
    redis = benchmark.pedantic(
        lambda: measure(redis_bench.url, n, rounds, pings), rounds=1, iterations=1
    )
    hub = measure(None, n, rounds, pings)
    assert redis["events_per_s"] > 0 and hub["events_per_s"] > 0
    if not smoke:
        RESULTS["bus redis streams"] = redis
        RESULTS["bus in-process hub"] = hub
        RESULTS["bus hub / redis"] = {
            "throughput_x": hub["events_per_s"] / redis["events_per_s"],
            "p50_x": redis["p50_us"] / hub["p50_us"],
        }
