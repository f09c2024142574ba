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
    from avd.ui.app import mount

    async def health(_: Request) -> JSONResponse:
        urls = settings.urls
        return JSONResponse(
            {
                "status": "ok",
                "services": {"client": urls.client, "market": urls.market, "trade": urls.trade},
            }
        )

    app = Starlette(routes=[Route("/health", health, methods=["GET"])])
    mount(app, settings.urls, settings.folder)
    return app


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
