"""Two market shards and two trade workers on Redis Streams and PostgreSQL, as processes.

The deployment of the README's "Scaling out" with trade workers: ``avd sim``,
``avd serve client``, two ``avd serve market --shard i/2`` and two ``avd serve
trade`` with leases on the shared PostgreSQL database, every one with ``--bus``.
References: the stream ``avd:market`` in Redis (what the shards published),
the bots' rule worked by hand over the signals on it, and the simulator's own
order list (each client order id once).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from avd.net import free_port
from tests.platform import CHEAP_ARGON2, RunningPlatform, start_avd
from tests.polling import wait_until
from tests.redis_server import RedisServer
from tests.runtime.test_scale_out import SYMBOLS, evaluated, market_events, scored
from tests.services.trade.test_trade_workers import (
    BOT_SYMBOLS,
    _client,
    _expected,
    _sim_orders,
    _trades,
)

WORKERS = {"leases": True, "lease_s": 4.0, "renew_s": 1.0, "signal_ttl_s": 30.0}
#: a low entry threshold: the sample's candles give signals every few seconds
SIGNALS = {"entry_threshold": 56.0, "rearm_threshold": 52.0, "cooldown_bars": 1}


class Deployment:
    def __init__(self, root: Path, redis_server: RedisServer, trade_db: str) -> None:
        self.root = root
        self.bus = redis_server.url
        self.trade_db = trade_db
        self.env = {"AVD_SERVICE_TOKEN": secrets.token_urlsafe(24)}
        names = ("sim", "client", "market0", "market1", "w1", "w2")
        self.ports = {k: free_port() for k in names}
        self.procs: dict[str, RunningPlatform] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        data = str(folder / "data")
        sim = self.url("sim")
        ready = "/health"
        if name == "sim":
            args, ready = ["sim", "--speed", "600"], "/api/v3/ping"
        elif name == "client":
            (folder / "client.json").write_text(json.dumps({"argon2": CHEAP_ARGON2}))
            args = ["serve", "client", "--config", str(folder / "client.json"), "--data-dir", data]
            args += ["--bus", self.bus]
            ready = "/.well-known/jwks.json"
        elif name.startswith("market"):
            config = {"market": {"engine": {"signals": SIGNALS}}}
            (folder / "market.json").write_text(json.dumps(config))
            args = ["serve", "market", "--config", str(folder / "market.json"), "--data-dir", data]
            args += ["--exchange-url", sim, "--shard", f"{name[-1]}/2", "--bus", self.bus]
        else:
            config = {
                "database_url": self.trade_db,
                "engine": {"workers": {**WORKERS, "worker_id": name}, "bots_cache_s": 0},
            }
            (folder / "trade.json").write_text(json.dumps(config))
            args = ["serve", "trade", "--config", str(folder / "trade.json"), "--data-dir", data]
            args += ["--exchange-url", sim, "--client-url", self.url("client")]
            args += ["--market-url", self.url("market0"), "--bus", self.bus]
        self.procs[name] = start_avd(
            folder, *args, port=self.ports[name], env=self.env, ready_path=ready
        )

    def health(self, name: str) -> dict[str, Any]:
        got: dict[str, Any] = httpx.get(f"{self.url(name)}/health", timeout=10).json()
        return got

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGKILL)
                p.proc.wait()


@pytest.fixture
def deployment(tmp_path: Path, redis_server: RedisServer, pg_server: str) -> Iterator[Deployment]:
    name = f"avd_scale_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    d = Deployment(tmp_path, redis_server, f"{pg_server}/{name}")
    try:
        yield d
    finally:
        d.stop_all()


def _sim_admin(d: Deployment, action: str) -> int:
    return httpx.post(f"{d.url('sim')}/sim/admin/{action}", timeout=10).status_code


def test_two_shards_and_two_trade_workers_score_once_and_trade_every_signal_once(
    deployment: Deployment,
) -> None:
    d = deployment
    for name in ("sim", "client", "market0", "market1", "w1", "w2"):
        d.start(name)
    assert _sim_admin(d, "pause") == 200  # no candle, no signal while the clients are made
    # each worker reads every market event in its own group
    for w in ("w1", "w2"):
        assert d.health(w)["bus"]["group"] == f"trade.{w}"
    # stops 50 % away: positions small enough for the simulator's one shared account
    wide = {"stops": {"stop_loss_percent": "50"}}
    clients = dict(_client(d, f"x{i}@example.com", wide) for i in range(4))
    ids = sorted(clients)

    def owners() -> dict[int, str]:
        return {c: w for w in ("w1", "w2") for c in d.health(w)["worker"]["clients"]}

    wait_until(lambda: sorted(owners()) == ids, "every client owned by a worker", timeout=60)
    wait_until(
        lambda: Counter(owners().values()) == Counter({"w1": 2, "w2": 2}),
        "the clients dealt two and two",
        timeout=60,
    )
    start = len(market_events(d.bus))
    assert _sim_admin(d, "resume") == 200

    def new_signals() -> list[dict[str, Any]]:
        return [
            e
            for e in market_events(d.bus)[start:]
            if e["type"] == "SignalGenerated" and e["symbol"] in BOT_SYMBOLS
        ]

    def traded() -> set[tuple[int, str, int]]:
        return {
            (client, symbol, after_ms)
            for _, client, symbol, _, origin, after_ms in _trades(d)
            if origin == "signal"
        }

    def enough() -> bool:
        # a BUY among them: the bots trade only from one (a run that starts
        # on a falling stretch can give only SELLs at first)
        got = new_signals()
        return len(got) >= 6 and any(s["side"] == "BUY" for s in got)

    wait_until(enough, "six signals of the bots' symbols, a BUY among them", timeout=240)
    assert _sim_admin(d, "pause") == 200
    reads: list[list[dict[str, Any]]] = []

    def settled() -> bool:
        reads.append(new_signals())
        return len(reads) > 1 and reads[-1] == reads[-2]

    wait_until(settled, "the signals to settle", timeout=30, interval=1.0)

    # every symbol scored, each closed candle exactly once across the shards
    events = market_events(d.bus)
    assert set(evaluated(events)) == set(SYMBOLS)
    counts = scored(events)
    assert {s for s, _ in counts} == set(SYMBOLS)
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v != 1]

    def held_nothing() -> set[tuple[int, str, int]]:
        return {
            (client, symbol, after_ms)
            for _, client, symbol, status, origin, after_ms in _trades(d)
            if origin == "signal" and status in ("flagged", "rejected", "cancelled")
        }

    def expected() -> set[tuple[int, str, int]]:
        return _expected(reads[-1], ids, held_nothing())

    wait_until(
        lambda: traded() == expected(),
        lambda: (
            f"every client's signals traded exactly once: missing "
            f"{sorted(expected() - traded())}, extra {sorted(traded() - expected())}; "
            f"trades {_trades(d)}"
        ),
        timeout=60,
    )
    assert {c for c, _, _ in traded()} == set(ids), "a BUY for every client"
    per_signal = Counter(
        (client, symbol, after_ms)
        for _, client, symbol, _, origin, after_ms in _trades(d)
        if origin == "signal"
    )
    assert set(per_signal.values()) == {1}
    # once on the exchange: every client order id once
    cids = Counter(o["clientOrderId"] for o in _sim_orders(d, BOT_SYMBOLS))
    assert cids and set(cids.values()) == {1}, cids
