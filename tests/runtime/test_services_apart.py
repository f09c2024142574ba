"""The four-process deployment: simulator, client, market and trade services, each alone.

Exactly the README's commands, as subprocesses with their own data folders
(and databases: SQLite files, or PostgreSQL), talking over loopback with one
service token:

    avd sim --port PS --speed 600
    avd serve client --port PC --data-dir DC
    avd serve market --port PM --data-dir DM --exchange-url http://127.0.0.1:PS
    avd serve trade  --port PT --data-dir DT --exchange-url http://127.0.0.1:PS \\
                     --client-url http://127.0.0.1:PC --market-url http://127.0.0.1:PM

A client registers and logs in on the client service and trades with the
same token on the trade service; ``avd run`` passes the same path
(:func:`trade_and_pay`). When the client service dies, the trade
service keeps the open position and its stop, answers the reads, refuses a
new entry with 503 naming the client service, and charges the fee it owes
once the client service is back, exactly once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from avd.net import free_port
from tests.polling import wait_until
from tests.runtime.conftest import (
    CHEAP_ARGON2,
    PASSWORD,
    RunningPlatform,
    start_avd,
    start_platform,
)


def _pg_database(base: str, name: str) -> str:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest) -> Iterator[dict[str, str | None]]:
    """The client's and the trade's databases: their own SQLite files, or PostgreSQL ones."""
    if request.param == "sqlite":
        yield {"client": None, "trade": None}
        return
    base = request.getfixturevalue("pg_server")
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    yield {
        "client": _pg_database(base, f"avd_client_{tag}"),
        "trade": _pg_database(base, f"avd_trade_{tag}"),
    }


class Deployment:
    """The four processes and how to reach them."""

    def __init__(self, root: Path, databases: dict[str, str | None]) -> None:
        self.root = root
        self.env = {"AVD_SERVICE_TOKEN": secrets.token_urlsafe(24)}
        self.ports = {k: free_port() for k in ("sim", "client", "market", "trade")}
        self.databases = databases
        self.procs: dict[str, RunningPlatform] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> RunningPlatform:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        data = str(folder / "data")
        if name == "sim":
            args = ["sim", "--speed", "600"]
            ready = "/api/v3/ping"
        elif name == "client":
            config = {"argon2": CHEAP_ARGON2}
            if self.databases["client"]:
                config["database_url"] = self.databases["client"]
            (folder / "client.json").write_text(json.dumps(config))
            args = ["serve", "client", "--config", str(folder / "client.json"), "--data-dir", data]
            ready = "/.well-known/jwks.json"
        elif name == "market":
            args = ["serve", "market", "--data-dir", data, "--exchange-url", self.url("sim")]
            ready = "/health"
        else:
            config_t: dict[str, Any] = {}
            if self.databases["trade"]:
                config_t["database_url"] = self.databases["trade"]
            (folder / "trade.json").write_text(json.dumps(config_t))
            args = [
                "serve",
                "trade",
                "--config",
                str(folder / "trade.json"),
                "--data-dir",
                data,
                "--exchange-url",
                self.url("sim"),
                "--client-url",
                self.url("client"),
                "--market-url",
                self.url("market"),
            ]
            ready = "/health"
        p = start_avd(folder, *args, port=self.ports[name], env=self.env, ready_path=ready)
        self.procs[name] = p
        return p

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGKILL)
                p.proc.wait()


@pytest.fixture
def deployment(tmp_path: Path, databases: dict[str, str | None]) -> Iterator[Deployment]:
    d = Deployment(tmp_path, databases)
    try:
        yield d
    finally:
        d.stop_all()


def test_four_processes_trade_and_survive_the_client_service_going_down(
    deployment: Deployment,
) -> None:
    d = deployment
    for name in ("sim", "client", "market", "trade"):
        d.start(name)
    with (
        httpx.Client(base_url=d.url("client")) as client,
        httpx.Client(base_url=d.url("trade")) as trade,
    ):
        _scenario(d, client, trade)


def fee_of(t: dict[str, Any]) -> Decimal:
    """The default platform fee: 0.1 % of the notional (quantity x entry)."""
    notional = Decimal(t["quantity"]) * Decimal(t["entry_price"])
    return (notional * Decimal("0.001")).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)


class Client:
    """One client of the platform, through the client and trade services' APIs."""

    def __init__(self, client: httpx.Client, trade: httpx.Client, email: str) -> None:
        self.client, self.trade = client, trade
        r = client.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def fees(self) -> list[tuple[str, Decimal]]:
        ops = self.client.get("/client/history", headers=self.auth).json()["operations"]
        return sorted(
            (str(o["trade_ref"]), -Decimal(o["amount"])) for o in ops if o["type"] == "fee_charge"
        )


BUY = {"symbol": "SOLUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "100"}


def trade_and_pay(c: Client) -> dict[str, Any]:
    """The end-to-end path every deployment must give: deposit 50, trade 100, close, fee.

    The trade's id and the fee charged once on the prepaid balance, checked
    against the fee worked out from the trade's own quantity and price.
    """
    r = c.client.post(
        "/client/deposit", json={"amount": "50", "idempotency_key": "d1"}, headers=c.auth
    )
    assert r.status_code == 201, r.text
    r = c.trade.post("/trades/execute", json=BUY, headers=c.auth)
    assert r.status_code == 201, r.text  # 50 prepaid, 100 traded: the paper account pays
    first: dict[str, Any] = r.json()
    assert first["mode"] == "paper" and first["status"] == "open"
    r = c.trade.post(f"/trades/{first['id']}/close", headers=c.auth)
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    charged = wait_until(
        lambda: c.fees() if len(c.fees()) == 1 else None, "the first fee", timeout=60
    )
    assert [f for _, f in charged] == [fee_of(first)]
    funds = c.client.get("/client/funds", headers=c.auth).json()
    assert Decimal(funds["balance"]) == Decimal(50) - fee_of(first)
    return first


def test_avd_run_passes_the_same_end_to_end_path(tmp_path: Path) -> None:
    platform = start_platform(tmp_path)
    try:
        with httpx.Client(base_url=platform.url) as http:
            trade_and_pay(Client(http, http, "together@example.com"))
    finally:
        platform.stop(signal.SIGTERM)


def _scenario(d: Deployment, client: httpx.Client, trade: httpx.Client) -> None:
    # the trade service takes the market's feed
    wait_until(
        lambda: trade.get("/health").json()["market"]["connected"], "market feed", timeout=60
    )
    c = Client(client, trade, "apart@example.com")
    first = trade_and_pay(c)
    auth, buy, fees = c.auth, BUY, c.fees

    # a second position, open while the client service goes down
    r = trade.post("/trades/execute", json=buy, headers=auth)
    assert r.status_code == 201, r.text
    second = r.json()
    d.procs["client"].proc.send_signal(signal.SIGKILL)
    d.procs["client"].proc.wait()

    r = trade.post("/trades/execute", json=buy, headers=auth)
    assert r.status_code == 503 and r.json()["service"] == "client", r.text
    r = trade.get("/trades/active", headers=auth)  # the token is verified here, offline
    assert r.status_code == 200, r.text
    (held,) = r.json()["trades"]
    assert held["id"] == second["id"] and held["tracked_stop"] is not None
    r = trade.post(f"/trades/{second['id']}/close", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    health = trade.get("/health").json()
    assert (health["status"], health["fees_owed"]) == ("degraded", 1)

    d.start("client")  # same data folder and database: the owed fee is charged once
    charged = wait_until(lambda: fees() if len(fees()) == 2 else None, "the owed fee", timeout=60)
    assert sorted(f for _, f in charged) == sorted([fee_of(first), fee_of(second)])
    wait_until(lambda: trade.get("/health").json()["fees_owed"] == 0, "nothing owed", timeout=60)
    funds = client.get("/client/funds", headers=auth).json()
    assert Decimal(funds["balance"]) == Decimal(50) - fee_of(first) - fee_of(second)
    assert len(fees()) == 2  # never twice

    # the market service goes down: the trade service says so, and takes the feed again
    d.procs["market"].proc.send_signal(signal.SIGKILL)
    d.procs["market"].proc.wait()

    def market_down() -> dict[str, Any] | None:
        h: dict[str, Any] = trade.get("/health").json()
        return None if h["market"]["connected"] else h

    down = wait_until(market_down, "market down", timeout=60)
    assert down["status"] == "degraded" and down["market"]["down_since"] is not None
    d.start("market")
    wait_until(lambda: trade.get("/health").json()["status"] == "ok", "market back", timeout=60)
