"""`avd serve trade`: the TradeEngine service alone, against a running simulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal as Dec
from pathlib import Path

import httpx
import orjson
import pytest
import websockets
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from avd.cli import app as cli
from avd.net import free_port
from avd.runtime.standalone import create_app
from avd.services.trade.settings import TradeSettings
from tests.polling import wait_http_ok
from tests.runtime.conftest import PASSWORD, RunningPlatform, start_avd
from tests.services.trade.conftest import CHEAP_ARGON2, Sim


def test_serve_trade_is_registered() -> None:
    r = CliRunner().invoke(cli, ["serve", "trade", "--help"])
    assert r.exit_code == 0 and "--config" in r.output


TOKEN = "serve-trade-test-service-token-0123"


@pytest.fixture
def client_service(tmp_path: Path) -> Iterator[RunningPlatform]:
    """A real ``avd serve client`` on its own data folder, with the test's service token."""
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "client.json").write_text(json.dumps({"argon2": CHEAP_ARGON2}))
    p = start_avd(
        folder,
        "serve",
        "client",
        "--config",
        str(folder / "client.json"),
        "--data-dir",
        str(folder / "data"),
        env={"AVD_SERVICE_TOKEN": TOKEN},
        ready_path="/.well-known/jwks.json",
    )
    try:
        yield p
    finally:
        if p.proc.poll() is None:
            p.stop(signal.SIGTERM)


def _client_token(client: RunningPlatform, email: str) -> str:
    r = httpx.post(f"{client.url}/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{client.url}/auth/login", json={"email": email, "password": PASSWORD})
    token: str = r.json()["access_token"]
    r = httpx.post(
        f"{client.url}/client/deposit",
        json={"amount": "50", "idempotency_key": "d-" + email.replace("@", "-")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return token


def test_the_service_alone_trades_on_paper(
    sim: Sim, tmp_path: Path, client_service: RunningPlatform
) -> None:
    token = _client_token(client_service, "solo@example.com")
    settings = TradeSettings(
        data_dir=tmp_path / "trade",
        exchange_url=f"http://{sim.address}",
        client_url=client_service.url,
        service_token=TOKEN,
        poll_prices_s=0.2,
    )
    with TestClient(create_app(settings)) as c:
        auth = {"Authorization": f"Bearer {token}"}
        # accepted, then closed with a code and a reason a real client can read
        with c.websocket_connect("/trades/stream") as ws, pytest.raises(WebSocketDisconnect) as ei:
            ws.receive_text()
        assert ei.value.code == 4401
        with c.websocket_connect(f"/trades/stream?token={token}") as ws:
            r = c.post(
                "/trades/execute",
                json={"symbol": "ETHUSDT", "side": "BUY", "quote_amount": "50"},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            t = r.json()
            ev = orjson.loads(ws.receive_text())
        assert (ev["type"], ev["trade_id"], ev["symbol"]) == ("TradePlaced", t["id"], "ETHUSDT")
        assert t["mode"] == "paper" and t["status"] == "open" and t["tracked_stop"] is not None
        # the default stop: 2% under the entry (the client's stop rules)
        assert Dec(t["stop_loss"]) < Dec(t["entry_price"])
        assert c.get("/trades/active", headers=auth).json()["trades"][0]["id"] == t["id"]
        assert "/trades/execute" in c.get("/openapi.json").json()["paths"]
        r = c.post(f"/trades/{t['id']}/close", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "closed"


def test_sigterm_stops_the_service_with_an_idle_stream_open(
    sim: Sim, tmp_path: Path, client_service: RunningPlatform
) -> None:
    # before the fix, an idle /trades/stream client kept `avd serve trade` running forever
    access = _client_token(client_service, "idle@example.com")
    port = free_port()
    config = tmp_path / "trade.json"
    config.write_text(
        json.dumps({"exchange_url": f"http://{sim.address}", "client_url": client_service.url})
    )
    out = tmp_path / "output.txt"
    with out.open("wb") as sink:
        command = ["serve", "trade", "--config", str(config), "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "avd", *command, "--data-dir", str(tmp_path / "trade")],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AVD_SERVICE_TOKEN": TOKEN},
        )
    try:
        wait_http_ok(
            f"http://127.0.0.1:{port}/openapi.json",
            lambda: f"avd serve trade:\n{out.read_text()}",
            proc=proc,
        )

        async def idle_then_stop() -> object:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/trades/stream?token={access}"
            ) as ws:
                proc.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(20):
                        await ws.recv()
                except ConnectionClosed as exc:
                    return exc.rcvd
            return None

        frame = asyncio.run(idle_then_stop())
        assert proc.wait(timeout=20) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert frame is not None
    assert (frame.code, frame.reason) == (1001, "server shutting down")  # type: ignore[attr-defined]
    assert "Traceback" not in out.read_text()
