"""``avd serve ui``: the dashboards alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avd.console import one_line_errors


def register(serve: typer.Typer) -> None:
    """Add ``avd serve ui`` to the command line."""

    @serve.command("ui")
    @one_line_errors
    def serve_ui(
        config: Annotated[
            Path | None, typer.Option("--config", help="Dashboards configuration (JSON).")
        ] = None,
        host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
        port: Annotated[
            int | None, typer.Option("--port", help="Port to listen on (default 8090).")
        ] = None,
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Data folder (the cookie secret; default ./avd-data)."),
        ] = None,
        client_url: Annotated[
            str | None,
            typer.Option("--client-url", help="The Client service, default http://127.0.0.1:8003."),
        ] = None,
        market_url: Annotated[
            str | None,
            typer.Option("--market-url", help="The MarketContext service, default :8080."),
        ] = None,
        trade_url: Annotated[
            str | None,
            typer.Option("--trade-url", help="The TradeEngine service, default :8002."),
        ] = None,
        bus: Annotated[
            str | None,
            typer.Option(
                "--bus",
                help="The deployment's Redis, e.g. redis://127.0.0.1:6379/0: NiceGUI's per-user "
                "storage lives there (several UI processes need sticky sessions).",
            ),
        ] = None,
    ) -> None:
        """Serve the client and admin dashboards alone, in front of the three services.

        The pages call the services' public APIs as the logged-in user (tokens
        kept in this process only) and follow their streams for live updates.
        """
        from avd.ui.server import serve_ui as launch

        given = {
            "host": host,
            "port": port,
            "data_dir": data_dir,
            "client_url": client_url,
            "market_url": market_url,
            "trade_url": trade_url,
            "bus": bus,
        }
        launch(config, {k: v for k, v in given.items() if v is not None})
