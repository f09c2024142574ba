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
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Data folder (its trade.db; default ./avd-data)."),
        ] = None,
        exchange_url: Annotated[
            str | None,
            typer.Option(
                "--exchange-url",
                help="The running simulator (`avd sim`), default http://127.0.0.1:8765.",
            ),
        ] = None,
        client_url: Annotated[
            str | None,
            typer.Option(
                "--client-url",
                help="The Client service (`avd serve client`), default http://127.0.0.1:8003.",
            ),
        ] = None,
        market_url: Annotated[
            str | None,
            typer.Option(
                "--market-url",
                help="The MarketContext service (`avd serve market`): its feed drives the "
                "stops, the paper fills and the bots; without it prices are polled.",
            ),
        ] = None,
        bus: Annotated[
            str | None,
            typer.Option(
                "--bus",
                help="Redis Streams between the processes, e.g. redis://127.0.0.1:6379/0: the "
                "market events come from it (not from --market-url's feed), trade events go out.",
            ),
        ] = None,
    ) -> None:
        """Serve the TradeEngine service alone (paper trading by default).

        It keeps its trades in its own data folder and talks to the Client
        and MarketContext services over the network, with the service token
        (AVD_SERVICE_TOKEN, or service.token in the data folder). SIGINT or
        SIGTERM stops it cleanly (streams closed, exit status 0).
        """
        given = {
            "host": host,
            "port": port,
            "exchange": exchange,
            "data_dir": data_dir,
            "exchange_url": exchange_url,
            "client_url": client_url,
            "market_url": market_url,
            "bus": bus,
        }
        launch(config, {k: v for k, v in given.items() if v is not None})
