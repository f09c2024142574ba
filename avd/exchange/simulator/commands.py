"""``avd sim``: run the local Binance simulator."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from avd.console import one_line_errors
from avd.settings import load_settings

from .config import SimConfig


@one_line_errors
def sim(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder of SYMBOL-INTERVAL.csv.gz (default: bundled sample)."),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port on 127.0.0.1.")] = None,
    speed: Annotated[
        float | None,
        typer.Option("--speed", help="0 = as fast as consumers take, 1 = real time, N = xN."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Replay start, ISO 8601 (UTC by default).")
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            help="Interval replayed (default: the finest every symbol has in --data).",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Simulator configuration (JSON).")
    ] = None,
    ticks: Annotated[
        Path | None,
        typer.Option(
            "--ticks",
            help="Replay a raw websocket recording (<receive ns> <JSON> lines, .gz or text) "
            "with its original timing (x --speed) instead of candles.",
        ),
    ] = None,
) -> None:
    """Run the local Binance-compatible simulator (REST, streams, WebSocket API)."""
    from .server import serve

    overrides: dict[str, Any] = {}
    if data is not None:
        overrides["data"] = data
    if port is not None:
        overrides["port"] = port
    if speed is not None:
        overrides["speed"] = speed
    if start is not None:
        overrides["start"] = datetime.fromisoformat(start)
    if interval is not None:
        overrides["interval"] = interval
    if ticks is not None:
        overrides["ticks"] = ticks
    cfg = load_settings(SimConfig, config, **overrides)
    if cfg.ticks is not None:
        from .ticks import load_recording

        rec = load_recording(cfg.ticks)  # a bad file is one line here, before the server starts
        typer.echo(
            f"replaying {len(rec.lines)} recorded messages of {rec.symbol} "
            f"({', '.join(rec.streams)})",
            err=True,
        )
    typer.echo(
        f"avd sim on http://{cfg.host}:{cfg.port} (streams ws://{cfg.host}:{cfg.port}/, "
        f"speed {cfg.speed:g})",
        err=True,
    )
    serve(cfg)


def register(app: typer.Typer) -> None:
    """Add ``avd sim`` to the command line."""
    app.command()(sim)
