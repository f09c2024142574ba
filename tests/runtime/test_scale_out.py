"""Scaling out on Redis Streams: two market shards and a trade service, each a process.

Exactly the README's "Scaling out" commands, as subprocesses on loopback:

    avd sim --port PS --speed 600
    avd serve market --port PM0 --exchange-url http://127.0.0.1:PS --shard 0/2 --bus URL
    avd serve market --port PM1 --exchange-url http://127.0.0.1:PS --shard 1/2 --bus URL
    avd serve client --port PC  --bus URL
    avd serve trade  --port PT  --exchange-url http://127.0.0.1:PS --client-url ... --bus URL

The stream ``avd:market`` in Redis is the reference for what was published
(read with redis-py's ``XRANGE``); the shard rule is recomputed here from its
documentation (CRC-32 of the symbol, mod n) with :func:`zlib.crc32`.
"""

from __future__ import annotations

import json
import secrets
import signal
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from avd.net import free_port
from tests.platform import CHEAP_ARGON2, PASSWORD, RunningPlatform, start_avd
from tests.polling import wait_until
from tests.redis_server import RedisServer

#: the bundled sample the simulator replays
SYMBOLS = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


def documented_shard(symbol: str, n: int) -> int:
    """README: a symbol belongs to shard ``crc32(symbol) mod n``."""
    return zlib.crc32(symbol.encode()) % n


class Deployment:
    """The simulator, two market shards and the trade service, on one Redis."""

    def __init__(self, root: Path, redis_server: RedisServer) -> None:
        self.root = root
        self.redis = redis_server
        self.env = {"AVD_SERVICE_TOKEN": secrets.token_urlsafe(24)}
        self.ports = {k: free_port() for k in ("sim", "market0", "market1", "client", "trade")}
        self.procs: dict[str, RunningPlatform] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> RunningPlatform:
        folder = self.root / name
        data = str(folder / "data")
        sim = self.url("sim")
        if name == "sim":
            args = ["sim", "--speed", "600"]
            ready = "/api/v3/ping"
        elif name.startswith("market"):
            shard = f"{name[-1]}/2"
            args = ["serve", "market", "--data-dir", data, "--exchange-url", sim]
            args += ["--shard", shard, "--bus", self.redis.url]
            ready = "/health"
        elif name == "client":
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "client.json").write_text(json.dumps({"argon2": CHEAP_ARGON2}))
            args = ["serve", "client", "--config", str(folder / "client.json"), "--data-dir", data]
            args += ["--bus", self.redis.url]
            ready = "/.well-known/jwks.json"
        else:
            args = ["serve", "trade", "--data-dir", data, "--exchange-url", sim]
            args += ["--client-url", self.url("client"), "--bus", self.redis.url]
            ready = "/health"
        p = start_avd(folder, *args, port=self.ports[name], env=self.env, ready_path=ready)
        self.procs[name] = p
        return p

    def health(self, name: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url(name)}/health", timeout=10)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def outputs(self) -> str:
        return "\n".join(f"--- {n}\n{p.output()[-3000:]}" for n, p in self.procs.items())

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGKILL)
                p.proc.wait()


@pytest.fixture
def deployment(tmp_path: Path, redis_server: RedisServer) -> Iterator[Deployment]:
    d = Deployment(tmp_path, redis_server)
    try:
        yield d
    finally:
        d.stop_all()


def raw_entries(url: str, stream: str = "avd:market") -> list[tuple[tuple[bytes, bytes], bytes]]:
    """Every entry of a stream: (publisher, sequence) and the event's JSON."""
    with redis.Redis.from_url(url) as r:
        return [((f[b"src"], f[b"seq"]), f[b"e"]) for _, f in r.xrange(stream)]


def resent(url: str, stream: str = "avd:market") -> int:
    """Entries a publisher sent twice (a batch re-sent when Redis died before answering).

    Each must be an exact copy of the first: the same publisher, sequence and event.
    """
    first: dict[tuple[bytes, bytes], bytes] = {}
    copies = 0
    for origin, payload in raw_entries(url, stream):
        if origin in first:
            assert first[origin] == payload, origin
            copies += 1
        else:
            first[origin] = payload
    return copies


def market_events(url: str) -> list[dict[str, Any]]:
    """Every event published on ``avd:market``, oldest first (a re-sent copy once)."""
    seen: set[tuple[bytes, bytes]] = set()
    out = []
    for origin, payload in raw_entries(url):
        if origin not in seen:
            seen.add(origin)
            out.append(orjson.loads(payload))
    return out


def scored(events: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
    """How many times each (symbol, candle) was scored."""
    return Counter(
        (e["symbol"], e["timestamp"]) for e in events if e["type"] == "ContextScoreCalculated"
    )


def evaluated(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Per symbol, the open times of the evaluated candles, in stream order."""
    out: dict[str, list[int]] = {}
    for e in events:
        if e["type"] == "CandleEvaluated":
            out.setdefault(e["kline"]["symbol"], []).append(e["kline"]["open_time"])
    return out


def group(url: str, name: str, stream: str = "avd:market") -> dict[str, Any]:
    with redis.Redis.from_url(url, decode_responses=True) as r:
        return next(g for g in r.xinfo_groups(stream) if g["name"] == name)


def test_two_shards_score_every_symbol_once_and_survive_redis_restarting(
    deployment: Deployment,
) -> None:
    d = deployment
    for name in ("sim", "market0", "market1", "client", "trade"):
        d.start(name)
    url = d.redis.url

    # every symbol scored, each closed candle exactly once across the shards
    def enough() -> bool:
        ev = evaluated(market_events(url))
        return set(ev) == set(SYMBOLS) and all(len(v) >= 10 for v in ev.values())

    wait_until(enough, lambda: f"ten candles of every symbol on the bus\n{d.outputs()}", timeout=90)
    counts = scored(market_events(url))
    assert {s for s, _ in counts} == set(SYMBOLS)
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v != 1]
    # each shard scored its own symbols, and only those (the documented rule)
    for i in (0, 1):
        r = httpx.get(f"{d.url(f'market{i}')}/symbols/contexts", timeout=10)
        assert r.status_code == 200, r.text
        assert {c["symbol"] for c in r.json()["contexts"]} == {
            s for s in SYMBOLS if documented_shard(s, 2) == i
        }

    # the trade service takes them from the bus
    wait_until(
        lambda: d.health("trade")["bus"]["consumed"] > 0, "the trade service consuming the bus"
    )
    t = d.health("trade")
    assert t["bus"]["connected"] is True and t["market"] is None  # no WebSocket feed
    assert t["bus"]["group"] == "trade"

    # a client's change crosses from the client service to the trade service
    c = httpx.Client(base_url=d.url("client"), timeout=10)
    r = c.post("/auth/register", json={"email": "bot@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = c.post("/auth/login", json={"email": "bot@example.com", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = c.patch("/client/parameters", headers=auth, json={"enabled": True})
    assert r.status_code == 200, r.text
    c.close()
    wait_until(
        lambda: (lambda g: g["entries-read"] == 1 and g["pending"] == 0)(
            group(url, "trade", "avd:client")
        ),
        "the trade service read and acknowledged the client change",
    )

    # Redis dies: every service says so in /health
    d.redis.kill()
    for name in ("market0", "market1", "client", "trade"):
        wait_until(
            lambda n=name: d.health(n)["bus"]["connected"] is False,  # type: ignore[misc]
            f"{name} reporting the bus down",
        )
        h = d.health(name)
        assert h["status"] == "degraded" and h["bus"]["down_since"] is not None, h
    # the markets go on and buffer what they publish
    wait_until(
        lambda: any(d.health(f"market{i}")["bus"]["waiting_to_publish"] > 0 for i in (0, 1)),
        "the shards buffering while Redis is down",
    )

    # Redis back (its append-only file: what it acknowledged survived)
    d.redis.start()
    for name in ("market0", "market1", "client", "trade"):
        wait_until(
            lambda n=name: d.health(n)["bus"]["connected"] is True,  # type: ignore[misc]
            f"{name} reconnected",
            timeout=60,
        )
    before = {s: max(v) for s, v in evaluated(market_events(url)).items()}

    def past_the_outage() -> bool:
        ev = evaluated(market_events(url))
        return all(max(ev[s]) >= before[s] + 10 * 60_000 for s in SYMBOLS)

    wait_until(past_the_outage, lambda: f"ten candles more of every symbol\n{d.outputs()}")
    # nothing lost across the outage: every symbol's candles follow each other minute by minute
    for symbol, times in evaluated(market_events(url)).items():
        assert times == list(range(times[0], times[-1] + 1, 60_000)), symbol
    counts = scored(market_events(url))
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v != 1]
    # and the trade service read and acknowledged all of it, each entry once
    wait_until(
        lambda: (lambda g: g["pending"] == 0 and g["lag"] == 0)(group(url, "trade")),
        "the trade group caught up, nothing pending",
    )
    t = d.health("trade")
    # a batch re-sent across the outage is in its stream twice; the trade service
    # dropped every copy (and may have dropped more: an entry Redis delivered to it
    # again after the reconnect, which it had already handled, is dropped the same way)
    copies = {s: resent(url, s) for s in ("avd:market", "avd:client")}
    assert t["bus"]["duplicates"] >= sum(copies.values()), (t["bus"], copies)
    assert t["bus"]["undecodable"] == 0
    assert t["bus"]["reconnects"] >= 1
    assert t["hub"]["trade-engine"]["errors"] == 0


def test_avd_run_with_a_bus_publishes_its_market_events(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from tests.platform import start_platform

    p = start_platform(tmp_path / "run", "--speed", "600", "--bus", redis_server.url)
    try:
        h = httpx.get(f"{p.url}/health", timeout=10).json()
        assert h["status"] == "ok" and h["bus"]["kind"] == "redis"
        assert h["bus"]["publishes"] == ["avd:market", "avd:trade", "avd:client"]
        wait_until(
            lambda: set(evaluated(market_events(redis_server.url))) == set(SYMBOLS),
            lambda: f"every symbol's candles on the bus\n{p.output()[-3000:]}",
            timeout=60,
        )
    finally:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait()
