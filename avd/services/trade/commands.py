"""``avd serve trade``: the TradeEngine service alone.

The command line of the service lives here; how it is wired to the other
services (the event hub, the transports) comes from the runtime, which
hands :func:`register` the function that starts it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from avd.console import one_line_errors

#: starts the service from its JSON config and the command-line overrides
Launch = Callable[[Path | None, dict[str, Any]], None]


def register(app: typer.Typer, serve: typer.Typer, launch: Launch) -> None:
    """Add ``avd serve trade`` to the command line."""

    @serve.command("trade")
    @one_line_errors
    def serve_trade(
        config: Annotated[
            Path | None, typer.Option("--config", help="TradeEngine configuration (JSON).")
        ] = None,
        host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
        port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
        exchange: Annotated[
            str | None,
            typer.Option(
                "--exchange",
                help="sim (a running `avd sim`, the default) or binance (needs network).",
            ),
        ] = None,
    ) -> None:
        """Serve the TradeEngine service alone (paper trading by default).

        SIGINT or SIGTERM stops it cleanly (streams closed, exit status 0).
        """
        overrides = {
            k: v
            for k, v in {"host": host, "port": port, "exchange": exchange}.items()
            if v is not None
        }
        launch(config, overrides)
