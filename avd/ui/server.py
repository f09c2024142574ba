"""``avd serve ui``: the dashboards alone, in front of services running elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from avd.ui.settings import UiSettings


def create_app(settings: UiSettings) -> Starlette:
    """A Starlette app serving ``/health`` and the dashboards."""
    from avd.ui import storage

    if settings.bus is not None:
        storage.use_redis(settings.bus.url, settings.bus.prefix)
    from avd.ui.app import mount

    async def health(_: Request) -> JSONResponse:
        urls = settings.urls
        redis = await _redis_health(settings) if settings.bus is not None else None
        return JSONResponse(
            {
                "status": "degraded" if redis is not None and not redis["connected"] else "ok",
                "services": {"client": urls.client, "market": urls.market, "trade": urls.trade},
                "bus": redis,
            }
        )

    app = Starlette(routes=[Route("/health", health, methods=["GET"])])
    mount(app, settings.urls, settings.folder)
    return app


async def _redis_health(settings: UiSettings) -> dict[str, Any]:
    """Whether the Redis that holds NiceGUI's storage answers (a PING, 2 s at most)."""
    from redis.asyncio import Redis

    from avd.settings import redacted_url

    assert settings.bus is not None
    r = Redis.from_url(settings.bus.url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        await r.ping()
        up, error = True, ""
    except Exception as exc:  # any failure to answer is "down", with its reason
        up, error = False, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        await r.aclose()
    return {
        "kind": "redis",
        "url": redacted_url(settings.bus.url),
        "connected": up,
        "last_error": error,
        "storage": "redis",
    }


def serve_ui(config: Path | None, overrides: dict[str, Any]) -> None:
    """Start ``avd serve ui`` from its JSON config and the command-line overrides."""
    from avd.console import console
    from avd.logs import setup_logging
    from avd.net import check_port_free
    from avd.settings import load_settings
    from avd.web.server import run

    settings = load_settings(UiSettings, config, **overrides)
    check_port_free(settings.host, settings.port)
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]AVD dashboards[/bold] on {url}/  (admins: {url}/admin; Ctrl-C stops)")
    console.print(
        f"  services: client {settings.client_url}, market {settings.market_url}, "
        f"trade {settings.trade_url}"
    )
    setup_logging(settings.folder / "logs" / "ui.jsonl", settings.log_level)
    run(app, settings.host, settings.port)
