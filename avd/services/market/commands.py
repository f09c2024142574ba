"""``avd serve market``: the MarketContext service alone, and the market options.

The options (replayed data, speed, exchange, symbols, interval...) are shared
with ``avd run``, which serves the market service with the others; the
runtime hands :func:`register` the function that starts the service.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from avd.console import one_line_errors

#: starts the service: (config file, overrides, restart the replay)
Launch = Callable[[Path | None, dict[str, Any], bool], None]


def market_overrides(
    data: Path | None,
    speed: float | None,
    port: int | None,
    exchange: str | None,
    record: Path | None,
    data_dir: Path | None,
    symbols: str | None,
    interval: str | None,
    exchange_url: str | None = None,
    *,
    shard: str | None = None,
    bus: str | None = None,
) -> dict[str, Any]:
    """The command-line options as overrides of the platform's settings."""
    o: dict[str, Any] = {}
    sim: dict[str, Any] = {}
    market: dict[str, Any] = {}
    if data is not None:
        sim["data"] = data
    if speed is not None:
        sim["speed"] = speed
    if port is not None:
        o["port"] = port
    if exchange is not None:
        o["exchange"] = exchange
    if record is not None:
        o["record"] = record
    if data_dir is not None:
        o["data_dir"] = data_dir
    if exchange_url is not None:
        o["exchange_url"] = exchange_url
    if symbols:
        market["symbols"] = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if interval:
        market["intervals"] = [i.strip() for i in interval.split(",")]
    if shard is not None:
        market["shard"] = shard
    if bus is not None:
        o["bus"] = bus
    if sim:
        o["sim"] = sim
    if market:
        o["market"] = market
    return o


Config = Annotated[Path | None, typer.Option("--config", help="JSON settings file.")]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder of SYMBOL-INTERVAL.csv.gz files to replay (default: bundled sample); "
        "one interval is replayed: --interval, else the finest every symbol has.",
    ),
]
Speed = Annotated[
    float | None, typer.Option("--speed", help="Replay speed: 1 = real time, N = xN, 0 = flat out.")
]
Port = Annotated[int | None, typer.Option("--port", help="API port (default 8080).")]
Exchange = Annotated[
    str | None, typer.Option("--exchange", help="sim (default, offline) or binance.")
]
Record = Annotated[
    Path | None, typer.Option("--record", help="Write every event as JSON lines into DIR.")
]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default ./avd-data).")
]
Symbols = Annotated[
    str | None,
    typer.Option(
        "--symbols",
        help="Comma-separated symbols or selectors like *USDT (default: all replayed; *USDT, every "
        "trading USDT pair, with --exchange binance).",
    ),
]
Interval = Annotated[
    str | None,
    typer.Option(
        "--interval",
        help="Kline interval (default: the finest in --data; 1m on Binance, "
        "where a comma-separated list works too).",
    ),
]
ExchangeUrl = Annotated[
    str | None,
    typer.Option(
        "--exchange-url",
        help="A running simulator (`avd sim`), e.g. http://127.0.0.1:8765: python-binance "
        "talks to it instead of starting one here (its symbols and interval by default).",
    ),
]
Shard = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="i/n: track only shard i of n of the symbols (crc32(symbol) mod n == i); "
        "start n market services, 0/n to n-1/n, on one bus.",
    ),
]
Bus = Annotated[
    str | None,
    typer.Option(
        "--bus",
        help="Redis Streams between the processes, e.g. redis://127.0.0.1:6379/0 "
        "(default: none; the services share events in one process or over /internal/feed).",
    ),
]
RestartReplay = Annotated[
    bool,
    typer.Option(
        "--restart-replay",
        help="Replay from the start on a fresh data folder: the current one is renamed "
        "with a UTC time suffix (nothing is deleted). By default a restart resumes the "
        "replay after the newest stored candle.",
    ),
]


def register(app: typer.Typer, serve: typer.Typer, launch: Launch) -> None:
    """Add ``avd serve market`` to the command line."""

    @serve.command("market")
    @one_line_errors
    def serve_market(
        config: Config = None,
        data: Data = None,
        speed: Speed = None,
        port: Port = None,
        exchange: Exchange = None,
        record: Record = None,
        data_dir: DataDir = None,
        symbols: Symbols = None,
        interval: Interval = None,
        exchange_url: ExchangeUrl = None,
        shard: Shard = None,
        bus: Bus = None,
        restart_replay: RestartReplay = False,
    ) -> None:
        """Serve the MarketContext service alone: market data, contexts, signals, /stream.

        Its collector, engine and (offline) simulator replay, with the market
        routes only: no accounts and no trading (`avd serve client` and
        `avd serve trade` serve those; `avd run` serves all three together).
        It takes the platform's configuration file.
        """
        o = market_overrides(
            data,
            speed,
            port,
            exchange,
            record,
            data_dir,
            symbols,
            interval,
            exchange_url,
            shard=shard,
            bus=bus,
        )
        launch(config, o, restart_replay)
