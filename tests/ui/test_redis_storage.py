"""``avd serve ui --bus``: NiceGUI's per-user storage in Redis, and Redis in ``/health``.

NiceGUI's ``RedisPersistentDict`` loads each browser's storage from the key
``<prefix>user-<id>`` and follows it on the channel ``<prefix>user-<id>changes``:
the channel Redis lists (``PUBSUB CHANNELS``) after a page request is the
proof that the storage lives there, not in the UI process's files.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import redis

from tests.platform import start_avd
from tests.polling import wait_until
from tests.redis_server import RedisServer


def test_the_ui_keeps_its_storage_in_the_bus_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    ui = start_avd(
        tmp_path / "ui",
        "serve", "ui", "--data-dir", str(tmp_path / "ui" / "data"), "--bus", redis_server.url,
    )  # fmt: skip
    try:
        health = httpx.get(f"{ui.url}/health").json()
        assert health["status"] == "ok"
        assert health["bus"]["connected"] is True and health["bus"]["storage"] == "redis"
        with httpx.Client(base_url=ui.url) as browser:
            r = browser.get("/login")
            assert r.status_code == 200
        with redis.Redis.from_url(redis_server.url, decode_responses=True) as r:
            channels = wait_until(
                lambda: r.pubsub_channels("avd:ui:user-*"), "the user storage in Redis"
            )
        assert len(channels) == 1 and channels[0].endswith("changes")
        redis_server.kill()
        down = httpx.get(f"{ui.url}/health").json()
        assert down["status"] == "degraded" and down["bus"]["connected"] is False
        assert down["bus"]["last_error"]
        assert ui.stop(signal.SIGINT) == 0
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
            ui.proc.wait()
