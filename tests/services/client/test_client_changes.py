"""``avd serve client --bus``: the client changes go out on Redis (``avd:client``).

The stream in Redis, read with redis-py's ``XRANGE``, is the reference: one
``ClientChanged`` per saved change, none for a refused one.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import redis
from starlette.testclient import TestClient

from avd.runtime.standalone import client_app
from tests.polling import wait_until
from tests.redis_server import RedisServer
from tests.services.client.conftest import admin_auth, auth, make_settings

ON = {
    "enabled": True,
    "mode": "paper",
    "symbols": ["ETHUSDT"],
    "risk_per_trade_percent": "0.5",
    "max_open_positions": 2,
    "stops": {},
    "strategy": None,
}


def changes(url: str) -> list[tuple[int, str]]:
    with redis.Redis.from_url(url) as r:
        rows = [orjson.loads(f[b"e"]) for _, f in r.xrange("avd:client")]
    assert {e["type"] for e in rows} <= {"ClientChanged"}
    return [(e["client_id"], e["change"]) for e in rows]


def test_saved_changes_go_out_on_the_bus_and_health_reports_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", bus=redis_server.url)
    with TestClient(client_app(settings)) as api:
        wait_until(lambda: api.get("/health").json()["bus"]["connected"], "the bus up")
        assert api.get("/health").json()["status"] == "ok"
        h = auth(api, "bot@example.com")
        me = api.get("/client/me", headers=h).json()["id"]
        assert api.put("/client/parameters", headers=h, json=ON).status_code == 200
        r = api.patch("/client/parameters", headers=h, json={"max_open_positions": 3})
        assert r.status_code == 200
        r = api.patch("/client/parameters", headers=h, json={"max_open_positions": -1})
        assert r.status_code == 422  # refused: nothing saved, nothing sent
        admin = admin_auth(api)
        r = api.post(f"/admin/clients/{me}/block", headers=admin, json={"reason": "test"})
        assert r.status_code == 200, r.text
        expected = [(me, "parameters"), (me, "parameters"), (me, "blocked")]
        wait_until(
            lambda: changes(redis_server.url) == expected, lambda: str(changes(redis_server.url))
        )
        redis_server.kill()
        wait_until(
            lambda: api.get("/health").json()["status"] == "degraded", "the bus reported down"
        )
