"""``avd serve trade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avd.cli import _one_line_errors, serve_app
from avd.settings import load_settings


@serve_app.command("trade")
@_one_line_errors
def serve_trade(
    config: Annotated[
        Path | None, typer.Option("--config", help="TradeEngine configuration (JSON).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
) -> None:
    """Run the TradeEngine service alone (paper trading by default).

    SIGINT or SIGTERM stops it cleanly (streams closed, exit status 0).
    """
    from avd.api.server import run
    from avd.api.trade.app import TradeSettings, create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = load_settings(TradeSettings, config, **overrides)
    app = create_app(settings)
    run(app, settings.host, settings.port, app.state.streams)
