"""``avd run``, ``avd serve market`` and ``avd replay``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
import uvloop

from avd.cli import _one_line_errors, app, console, serve_app
from avd.settings import load_settings


def _overrides(
    data: Path | None,
    speed: float | None,
    port: int | None,
    exchange: str | None,
    record: Path | None,
    data_dir: Path | None,
    symbols: str | None,
    interval: str | None,
) -> dict[str, Any]:
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
    if symbols:
        market["symbols"] = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if interval:
        market["intervals"] = [i.strip() for i in interval.split(",")]
    if sim:
        o["sim"] = sim
    if market:
        o["market"] = market
    return o


def _start(config: Path | None, overrides: dict[str, Any], *, client: bool, banner: str) -> None:
    from avd.orchestrator.platform import Platform, PlatformSettings

    settings = load_settings(PlatformSettings, config, **_merge_file(config, overrides))
    platform = Platform(settings, client=client)
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]{banner}[/bold] on {url}  (exchange: {settings.exchange}; Ctrl-C stops)")
    console.print(
        f"  contexts: {url}/symbols/contexts   signals: {url}/signals   health: {url}/health\n"
        f"  API schema: {url}/openapi.json   live stream: ws://{settings.host}:{settings.port}/stream\n"
        f"  logs: {platform.folder / 'logs' / 'avd.jsonl'}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(platform.serve())


def _merge_file(config: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """Command-line options win over the file, section by section."""
    if config is None:
        return overrides
    import json

    base: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


Config = Annotated[Path | None, typer.Option("--config", help="JSON settings file.")]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Folder of SYMBOL-INTERVAL.csv.gz files to replay (default: bundled sample)."
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
    str | None, typer.Option("--symbols", help="Comma-separated symbols (default: all replayed).")
]
Interval = Annotated[
    str | None, typer.Option("--interval", help="Comma-separated kline intervals (default 1m).")
]


@app.command()
@_one_line_errors
def run(
    config: Config = None,
    data: Data = None,
    speed: Speed = None,
    port: Port = None,
    exchange: Exchange = None,
    record: Record = None,
    data_dir: DataDir = None,
    symbols: Symbols = None,
    interval: Interval = None,
) -> None:
    """Run the whole platform in one process (offline on the simulator by default)."""
    o = _overrides(data, speed, port, exchange, record, data_dir, symbols, interval)
    _start(config, o, client=True, banner="AVD platform")


@serve_app.command("market")
@_one_line_errors
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
) -> None:
    """Run the MarketContext service alone."""
    o = _overrides(data, speed, port, exchange, record, data_dir, symbols, interval)
    _start(config, o, client=False, banner="AVD MarketContext service")


@app.command()
@_one_line_errors
def replay(
    directory: Annotated[Path, typer.Argument(help="A folder written by `avd run --record DIR`.")],
) -> None:
    """Feed a recording back through the market pipeline and compare the outcome."""
    from avd.orchestrator.events import ContextScoreCalculated, Event, SignalGenerated
    from avd.orchestrator.hub import EventHub
    from avd.orchestrator.market_context import MarketContext
    from avd.orchestrator.recorder import read_recording, recorded_inputs

    recorded = list(read_recording(directory))
    klines = list(recorded_inputs(directory))
    rec_signals = [e for e in recorded if isinstance(e, SignalGenerated)]

    async def main() -> tuple[int, list[SignalGenerated]]:
        hub = EventHub()
        MarketContext(hub)
        contexts = 0
        signals: list[SignalGenerated] = []

        async def collect(e: Event) -> None:
            nonlocal contexts
            if isinstance(e, ContextScoreCalculated):
                contexts += 1
            elif isinstance(e, SignalGenerated):
                signals.append(e)

        hub.subscribe("replay", collect, ContextScoreCalculated, SignalGenerated)
        hub.start()
        for k in klines:
            await hub.publish(k)
        for _ in range(3):
            await hub.drain()
            await asyncio.sleep(0)
        await hub.stop()
        return contexts, signals

    contexts, signals = asyncio.run(main())
    same = [(s.symbol, s.side, s.generated_at) for s in signals] == [
        (s.symbol, s.side, s.generated_at) for s in rec_signals
    ]
    console.print(
        f"replayed {len(klines)} klines and warm-up batches: "
        f"{contexts} contexts, {len(signals)} signals "
        f"(recorded: {len(rec_signals)} signals; {'identical' if same else 'DIFFERENT'})"
    )
    for s in signals[-10:]:
        console.print(f"  {s.generated_at} {s.symbol} {s.side} {s.confidence:.2f} {s.reason}")
    if not same:
        raise typer.Exit(1)
