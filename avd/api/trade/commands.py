"""``avd serve trade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avd.cli import _one_line_errors, _run_server, serve_app
from avd.exchange.preflight import check_binance_reachable
from avd.net import check_port_free
from avd.settings import load_settings


@serve_app.command("trade")
@_one_line_errors
def serve_trade(
    config: Annotated[
        Path | None, typer.Option("--config", help="TradeEngine configuration (JSON).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange", help="sim (a running `avd sim`, the default) or binance (needs network)."
        ),
    ] = None,
) -> None:
    """Serve the TradeEngine service alone (paper trading by default).

    SIGINT or SIGTERM stops it cleanly (streams closed, exit status 0).
    """
    from avd.api.server import run
    from avd.api.trade.app import TradeSettings, create_app

    overrides = {
        k: v for k, v in {"host": host, "port": port, "exchange": exchange}.items() if v is not None
    }
    settings = load_settings(TradeSettings, config, **overrides)
    if settings.exchange == "binance":
        check_binance_reachable()
    check_port_free(settings.host, settings.port)
    app = create_app(settings)
    _run_server(
        lambda: run(app, settings.host, settings.port, app.state.streams),
        app.state.startup_failure,
        "the TradeEngine service",
    )
