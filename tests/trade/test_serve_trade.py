"""`avd serve trade`: the TradeEngine service alone, against a running simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from avd.api.client import schemas as cm
from avd.api.client.service import ClientService
from avd.api.client.settings import ClientSettings
from avd.api.trade.app import TradeSettings, create_app
from avd.cli import app as cli
from avd.store import accounts
from tests.trade.conftest import CHEAP_ARGON2, Sim


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
        with pytest.raises(WebSocketDisconnect) as ei, c.websocket_connect("/trades/stream"):
            pass
        assert ei.value.code == 4401
        with c.websocket_connect(f"/trades/stream?token={token}") as ws:
            r = c.post(
                "/trades/execute",
                json={"symbol": "ETHUSDT", "side": "BUY", "quote_amount": "50"},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            t = r.json()
            ev = orjson.loads(ws.receive_bytes())
        assert (ev["type"], ev["trade_id"], ev["symbol"]) == ("TradePlaced", t["id"], "ETHUSDT")
        assert t["mode"] == "paper" and t["status"] == "open" and t["tracked_stop"] is not None
        # the default stop: 2% under the entry (the client's stop rules)
        assert Dec(t["stop_loss"]) < Dec(t["entry_price"])
        assert c.get("/trades/active", headers=auth).json()["trades"][0]["id"] == t["id"]
        assert "/trades/execute" in c.get("/openapi.json").json()["paths"]
        r = c.post(f"/trades/{t['id']}/close", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "closed"
