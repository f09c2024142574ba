"""`avd serve trade`: the TradeEngine service alone, against a running simulator."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from decimal import Decimal as Dec
from pathlib import Path

import orjson
import pytest
import websockets
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from avd.cli import app as cli
from avd.net import free_port
from avd.runtime.standalone import TradeSettings, create_app
from avd.services.client import schemas as cm
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.store import accounts
from tests.polling import wait_http_ok
from tests.services.trade.conftest import CHEAP_ARGON2, Sim


def test_serve_trade_is_registered() -> None:
    r = CliRunner().invoke(cli, ["serve", "trade", "--help"])
    assert r.exit_code == 0 and "--config" in r.output


def test_the_service_alone_trades_on_paper(sim: Sim, tmp_path: Path) -> None:
    client_settings = ClientSettings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'client.db'}", argon2=CHEAP_ARGON2
    )

    async def setup() -> str:
        svc = ClientService(client_settings)
        await svc.start()
        try:
            admin = await svc.create_user("adm@example.com", "correct horse battery", "admin")
            user = await svc.create_user("solo@example.com", "correct horse battery", "client")
            async with svc.db.read() as s:
                adm = await accounts.get(s, admin.id)
            assert adm is not None
            await svc.adjust(adm, user.id, cm.Adjustment(amount=Dec(5000), reason="t"), None)
            return svc.tokens.encode(svc.tokens.issue(user.id, "client", 0, "access"))
        finally:
            await svc.stop()

    token = asyncio.run(setup())
    settings = TradeSettings(
        data_dir=tmp_path, sim_address=sim.address, client=client_settings, poll_prices_s=0.2
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


def test_sigterm_stops_the_service_with_an_idle_stream_open(sim: Sim, tmp_path: Path) -> None:
    # before the fix, an idle /trades/stream client kept `avd serve trade` running forever
    db = f"sqlite:///{tmp_path / 'client.db'}"
    client = {"data_dir": str(tmp_path), "database_url": db, "argon2": CHEAP_ARGON2}

    async def token() -> str:
        svc = ClientService(ClientSettings(**client))  # type: ignore[arg-type]
        await svc.start()
        try:
            user = await svc.create_user("idle@example.com", "correct horse battery", "client")
            return svc.tokens.encode(svc.tokens.issue(user.id, "client", 0, "access"))
        finally:
            await svc.stop()

    access = asyncio.run(token())
    port = free_port()
    config = tmp_path / "trade.json"
    config.write_text(json.dumps({"sim_address": sim.address, "client": client}))
    out = tmp_path / "output.txt"
    with out.open("wb") as sink:
        command = ["serve", "trade", "--config", str(config), "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "avd", *command],
            stdout=sink,
            stderr=subprocess.STDOUT,
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
