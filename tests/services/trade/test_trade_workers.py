"""Two trade workers on one PostgreSQL database split the clients; one dies, the other takes over.

Real processes on loopback, as an operator runs them: ``avd sim``, ``avd
serve client``, ``avd serve market`` and two ``avd serve trade`` with the
same configuration (the shared PostgreSQL database, ``workers.leases`` on)
and their own worker ids. Clients trade live on the simulator, so every
order is on the exchange under its deterministic client order id: the
simulator's own order list is the reference for "no order placed twice".
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from avd.exchange.simulator.client import SimClient
from avd.exchange.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from avd.net import free_port
from tests.platform import CHEAP_ARGON2, PASSWORD, RunningPlatform, start_avd
from tests.polling import wait_until

LEASE_S = 4.0
WORKERS = {"lease_s": LEASE_S, "renew_s": 1.0, "signal_ttl_s": 30.0}
KEYS = {"api_key": "K" * 24, "api_secret": "S" * 24}
BOT_SYMBOLS = {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
BUY = {"symbol": "SOLUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "100"}


class Deployment:
    def __init__(self, root: Path, trade_db: str) -> None:
        self.root = root
        self.trade_db = trade_db
        self.speed = "60"
        #: the market service's configuration (the platform's file)
        self.market: dict[str, Any] = {}
        self.engine: dict[str, Any] = {}
        self.env = {"AVD_SERVICE_TOKEN": secrets.token_urlsafe(24)}
        self.ports = {k: free_port() for k in ("sim", "client", "market", "w1", "w2")}
        self.procs: dict[str, RunningPlatform] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> RunningPlatform:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        data = str(folder / "data")
        ready = "/health"
        if name == "sim":
            args = ["sim", "--speed", self.speed]
            ready = "/api/v3/ping"
        elif name == "client":
            (folder / "client.json").write_text(json.dumps({"argon2": CHEAP_ARGON2}))
            args = ["serve", "client", "--config", str(folder / "client.json"), "--data-dir", data]
            ready = "/.well-known/jwks.json"
        elif name == "market":
            (folder / "market.json").write_text(json.dumps({"market": self.market}))
            args = ["serve", "market", "--config", str(folder / "market.json"), "--data-dir", data]
            args += ["--exchange-url", self.url("sim")]
        else:
            config = {
                "database_url": self.trade_db,
                "engine": {
                    "workers": {"leases": True, "worker_id": name, **WORKERS},
                    **self.engine,
                },
            }
            (folder / "trade.json").write_text(json.dumps(config))
            args = ["serve", "trade", "--config", str(folder / "trade.json"), "--data-dir", data]
            args += ["--exchange-url", self.url("sim"), "--client-url", self.url("client")]
            args += ["--market-url", self.url("market")]
        p = start_avd(folder, *args, port=self.ports[name], env=self.env, ready_path=ready)
        self.procs[name] = p
        return p

    def health(self, worker: str) -> dict[str, Any]:
        got: dict[str, Any] = httpx.get(f"{self.url(worker)}/health", timeout=10).json()
        return got

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGKILL)
                p.proc.wait()


@pytest.fixture
def deployment(tmp_path: Path, pg_server: str) -> Iterator[Deployment]:
    name = f"avd_workers_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    d = Deployment(tmp_path, f"{pg_server}/{name}")
    try:
        yield d
    finally:
        d.stop_all()


def _client(
    d: Deployment, email: str, extra: dict[str, Any] | None = None
) -> tuple[int, dict[str, str]]:
    """A client with 50 prepaid, an exchange key and its bot enabled, trading live."""
    c = httpx.Client(base_url=d.url("client"), timeout=30)
    r = c.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    client_id = int(r.json()["id"])
    r = c.post("/auth/login", json={"email": email, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = c.post("/client/deposit", json={"amount": "50", "idempotency_key": "d"}, headers=auth)
    assert r.status_code == 201, r.text
    assert c.post("/client/api-keys", json=KEYS, headers=auth).status_code == 201
    params = {"mode": "live", "enabled": True, "symbols": sorted(BOT_SYMBOLS)}
    params.update(extra or {})
    r = c.patch("/client/parameters", json=params, headers=auth)
    assert r.status_code == 200, r.text
    c.close()
    return client_id, auth


def _owners(d: Deployment, workers: tuple[str, ...]) -> dict[int, str]:
    out: dict[int, str] = {}
    for w in workers:
        for c in d.health(w)["worker"]["clients"]:
            assert c not in out, f"client {c} owned by {out[c]} and {w}"
            out[c] = w
    return out


def _workers_state(d: Deployment, what: str) -> Callable[[], str]:
    """``what``, then each trade worker's lease health and the tail of its log
    (read only when a wait times out: why the clients were not dealt)."""

    def text() -> str:
        parts = [what]
        for w in ("w1", "w2"):
            p = d.procs.get(w)
            if p is None:
                continue
            try:
                worker = d.health(w)["worker"]
            except Exception as exc:  # the worker is gone: its log says why
                worker = f"no health ({exc})"
            tail = "\n".join(p.output().splitlines()[-40:])
            parts.append(f"--- {w}: {worker}\n{tail}")
        return "\n".join(parts)

    return text


def _sim_orders(d: Deployment, symbols: set[str]) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        c = await SimClient(d.url("sim").split("://")[1]).create(
            DEFAULT_API_KEY, DEFAULT_API_SECRET
        )
        try:
            out: list[dict[str, Any]] = []
            for s in sorted(symbols):
                out += await c.get_all_orders(symbol=s)
            return out
        finally:
            await c.close_connection()

    return asyncio.run(go())


def _trades(d: Deployment) -> list[tuple[Any, ...]]:
    with psycopg.connect(d.trade_db.replace("postgresql://", "postgresql://", 1)) as conn:
        return list(
            conn.execute(
                "SELECT t.id, t.client_id, t.symbol, t.status, t.origin, o.after_ms "
                "FROM trades t JOIN trade_orders o ON o.trade_id = t.id AND o.purpose = 'entry' "
                "ORDER BY t.id"
            )
        )


def test_two_workers_split_the_clients_and_one_takes_over_when_the_other_dies(
    deployment: Deployment,
) -> None:
    d = deployment
    for name in ("sim", "client", "market", "w1", "w2"):
        d.start(name)
    clients = dict(_client(d, f"c{i}@example.com") for i in range(4))

    # dealt in order over the two live workers: two clients each, never one client twice
    def split() -> dict[int, str] | None:
        got = _owners(d, ("w1", "w2"))
        return got if set(got) == set(clients) else None

    owners = wait_until(
        split, _workers_state(d, "the four clients dealt to the two workers"), timeout=60
    )
    ids = sorted(clients)
    assert owners == {ids[0]: "w1", ids[1]: "w2", ids[2]: "w1", ids[3]: "w2"}

    # a request to the worker that does not own the client is refused, naming the rule
    other = {"w1": "w2", "w2": "w1"}
    r = httpx.post(
        f"{d.url(other[owners[ids[0]]])}/trades/execute", json=BUY, headers=clients[ids[0]]
    )
    assert r.status_code == 503 and r.json()["error"] == "not_owner", r.text

    # each client opens a live position through its owner: a protective stop on the exchange
    opened: dict[int, dict[str, Any]] = {}
    for c, auth in clients.items():
        r = httpx.post(f"{d.url(owners[c])}/trades/execute", json=BUY, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "open" and r.json()["mode"] == "live"
        opened[c] = r.json()
    wait_until(
        lambda: sum(d.health(w)["positions"] for w in ("w1", "w2")) == 4, "four tracked positions"
    )
    before = _sim_orders(d, {"SOLUSDT"})

    # w1 dies with two clients' open positions
    d.procs["w1"].proc.send_signal(signal.SIGKILL)
    d.procs["w1"].proc.wait()
    taken = wait_until(
        lambda: (h := d.health("w2"))["worker"]["clients"] == ids and h,
        "w2 taking w1's clients over",
        timeout=LEASE_S * 10,
    )
    assert taken["worker"]["workers"] == ["w2"]
    assert taken["worker"]["takeovers"] == 2
    assert taken["positions"] == 4  # every stop tracked again

    # the positions are where they were: same trades, open, their stops tracked
    for c in (ids[0], ids[2]):
        r = httpx.get(f"{d.url('w2')}/trades/active", headers=clients[c])
        assert r.status_code == 200, r.text
        (t,) = r.json()["trades"]
        assert t["id"] == opened[c]["id"] and t["status"] == "open"
        assert t["tracked_stop"] is not None
        r = httpx.post(f"{d.url('w2')}/trades/{t['id']}/close", headers=clients[c], timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "closed", r.text

    # the exchange's orders: each client order id once; the take-over placed no entry or
    # protective stop again (the stops of the taken positions are the ones w1 placed)
    after = _sim_orders(d, {"SOLUSDT"})
    cids = Counter(o["clientOrderId"] for o in after)
    assert all(n == 1 for n in cids.values()), cids
    entries = [cid for cid in cids if cid.endswith("-e")]
    assert sorted(int(cid.split("-")[2]) for cid in entries) == sorted(
        t["id"] for t in opened.values()
    )
    before_ids = {o["clientOrderId"] for o in before}
    new = {o["clientOrderId"] for o in after} - before_ids
    # after the take-over only the two closes (and their stops' cancels) reached the exchange
    assert all(cid.endswith("-x") for cid in new), new

    # the signals both workers got (the market's, in the meantime): each traded once per client
    per_signal = Counter(
        (client, symbol, after_ms)
        for _, client, symbol, _, origin, after_ms in _trades(d)
        if origin == "signal"
    )
    assert all(n == 1 for n in per_signal.values()), per_signal


def _sim_admin(d: Deployment, action: str) -> int:
    return httpx.post(f"{d.url('sim')}/sim/admin/{action}", timeout=10).status_code


def _signals(d: Deployment) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = httpx.get(
        f"{d.url('market')}/signals", params={"since": 0, "limit": 1000}, timeout=10
    ).json()["signals"]
    return got


def _expected(
    signals: list[dict[str, Any]], clients: list[int], unsent: set[tuple[int, str, int]]
) -> set[tuple[int, str, int]]:
    """The bots' rule worked by hand: per client and symbol of its bot, in order, a BUY
    opens a position when none is held, a SELL closes it (the stops, 50 % away, never act).

    ``unsent``: entries that hold nothing (booked but never sent by a worker killed at
    that moment, which the new owner flags; refused or ended unfilled by the exchange).
    """
    out: set[tuple[int, str, int]] = set()
    for c in clients:
        held: set[str] = set()
        for s in sorted(signals, key=lambda s: (s["generated_at"], s["symbol"])):
            if s["symbol"] not in BOT_SYMBOLS:
                continue
            if s["side"] == "BUY" and s["symbol"] not in held:
                key = (c, s["symbol"], s["generated_at"])
                out.add(key)
                if key not in unsent:
                    held.add(s["symbol"])
            elif s["side"] == "SELL":
                held.discard(s["symbol"])
    return out


def test_every_enabled_clients_signals_are_traded_once_across_a_worker_death(
    deployment: Deployment,
) -> None:
    d = deployment
    d.speed = "600"
    # a low entry threshold: the sample's candles give signals every few seconds
    d.market = {
        "engine": {
            "signals": {"entry_threshold": 56.0, "rearm_threshold": 52.0, "cooldown_bars": 1}
        }
    }
    d.engine = {"bots_cache_s": 0}  # a bot enabled is traded from the next signal on
    for name in ("sim", "client", "market", "w1", "w2"):
        d.start(name)
    assert _sim_admin(d, "pause") == 200  # no candle, no signal
    wide = {"stops": {"stop_loss_percent": "50"}}
    clients = dict(_client(d, f"s{i}@example.com", {**wide, "enabled": False}) for i in range(4))
    ids = sorted(clients)
    for auth in clients.values():  # a first request: a worker claims the client
        assert httpx.get(f"{d.url('w1')}/trades/account", headers=auth).status_code == 200
    # claimed by w1 on their first requests, then dealt: client k to worker k mod 2
    dealt = {ids[0]: "w1", ids[1]: "w2", ids[2]: "w1", ids[3]: "w2"}
    wait_until(
        lambda: _owners(d, ("w1", "w2")) == dealt,
        _workers_state(d, f"the clients dealt as {dealt}"),
        timeout=60,
    )
    with httpx.Client(base_url=d.url("client"), timeout=30) as c:
        for auth in clients.values():
            r = c.patch("/client/parameters", json={"enabled": True}, headers=auth)
            assert r.status_code == 200, r.text
    before = {(s["symbol"], s["side"], s["generated_at"]) for s in _signals(d)}
    assert _sim_admin(d, "resume") == 200

    def new_signals() -> list[dict[str, Any]]:
        return [s for s in _signals(d) if (s["symbol"], s["side"], s["generated_at"]) not in before]

    def traded() -> set[tuple[int, str, int]]:
        return {
            (client, symbol, after_ms)
            for _, client, symbol, _, origin, after_ms in _trades(d)
            if origin == "signal"
        }

    # trading on both workers, then w1 dies
    wait_until(lambda: len(traded()) >= 2, "two signal trades", timeout=180)
    d.procs["w1"].proc.send_signal(signal.SIGKILL)
    d.procs["w1"].proc.wait()
    wait_until(
        lambda: d.health("w2")["worker"]["clients"] == ids, "w2 owning every client", timeout=60
    )
    # more signals after the take-over, then the market stops moving
    seen = len(new_signals())
    wait_until(lambda: len(new_signals()) >= seen + 3, "three more signals", timeout=180)
    assert _sim_admin(d, "pause") == 200
    # the candle in flight is evaluated: wait for the list to stop changing
    reads: list[list[dict[str, Any]]] = []

    def settled() -> bool:
        reads.append(new_signals())
        return len(reads) > 1 and reads[-1] == reads[-2]

    wait_until(settled, "the signals to settle", timeout=30, interval=1.0)

    def held_nothing() -> set[tuple[int, str, int]]:
        # entries that never became a position: booked but never sent by a worker killed
        # at that moment (the new owner flags them), refused by the exchange (rejected) or
        # ended by it unfilled (cancelled)
        return {
            (client, symbol, after_ms)
            for _, client, symbol, status, origin, after_ms in _trades(d)
            if origin == "signal" and status in ("flagged", "rejected", "cancelled")
        }

    def diff() -> str:
        want = _expected(reads[-1], ids, held_nothing())
        got = traded()
        return (
            f"missing {sorted(want - got)}, extra {sorted(got - want)}; "
            f"trades (id, client, symbol, status, origin, after_ms): {_trades(d)}"
        )

    # exactly once: every BUY the rule gives each client, and no other
    wait_until(
        lambda: traded() == _expected(reads[-1], ids, held_nothing()),
        lambda: f"every client's signals traded exactly once: {diff()}",
        timeout=60,
    )
    assert {c for c, _, _ in traded()} == set(ids), "a BUY for every client"
    # no position lost: every open trade in the database is tracked by the survivor
    open_trades = [t for t in _trades(d) if t[3] == "open"]
    wait_until(
        lambda: d.health("w2")["positions"] == len(open_trades),
        lambda: f"w2 tracking the {len(open_trades)} open trades: {d.health('w2')}",
        timeout=30,
    )
    # once each: no (client, signal) twice in the database
    per_signal = Counter(
        (client, symbol, after_ms)
        for _, client, symbol, _, origin, after_ms in _trades(d)
        if origin == "signal"
    )
    assert set(per_signal.values()) == {1}
    assert traded() == _expected(reads[-1], ids, held_nothing()), diff()
    # and once on the exchange: every client order id once
    cids = Counter(o["clientOrderId"] for o in _sim_orders(d, BOT_SYMBOLS))
    assert set(cids.values()) == {1}, cids
