"""``avd run``, ``avd serve market`` and ``avd replay``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvloop

from avd.cli import _one_line_errors, _run_server, app, console, serve_app
from avd.exceptions import ConfigError
from avd.exchange.preflight import check_binance_reachable
from avd.net import check_port_free
from avd.paths import data_dir, move_aside
from avd.settings import load_settings

if TYPE_CHECKING:
    from avd.orchestrator.platform import PlatformSettings


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


def _start(
    config: Path | None,
    overrides: dict[str, Any],
    *,
    client: bool,
    banner: str,
    restart_replay: bool = False,
) -> None:
    from avd.orchestrator.platform import Platform, PlatformSettings

    settings = load_settings(PlatformSettings, config, **_merge_file(config, overrides))
    preflight(settings)
    if restart_replay:
        fresh_data_dir(settings)
    platform = Platform(settings, client=client)
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]{banner}[/bold] on {url}  (exchange: {settings.exchange}; Ctrl-C stops)")
    console.print(
        f"  contexts: {url}/symbols/contexts   signals: {url}/signals   health: {url}/health\n"
        f"  API schema: {url}/openapi.json   live stream: ws://{settings.host}:{settings.port}/stream\n"
        f"  logs: {platform.folder / 'logs' / 'avd.jsonl'}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        _run_server(lambda: uvloop.run(platform.serve()), platform.startup_failure, banner)


def preflight(settings: PlatformSettings) -> None:
    """Refuse, before anything starts, what would fail inside the server's startup.

    Raises
    ------
    ConfigError
        ``--exchange binance`` without ``--symbols``.
    OSError
        Binance unreachable (bounded by a short timeout), or the API port taken.
    """
    if settings.exchange == "binance":
        if not settings.market.symbols:
            raise ConfigError(
                "--exchange binance needs the symbols to track: --symbols BTCUSDT,ETHUSDT "
                "(or market.symbols in the config)"
            )
        check_binance_reachable()
    elif len(settings.market.intervals) > 1:
        raise ConfigError(
            f"the simulator replays one interval, not {', '.join(settings.market.intervals)}: "
            "give one (--interval 1m)"
        )
    check_port_free(settings.host, settings.port)


def fresh_data_dir(settings: PlatformSettings) -> None:
    """Move the data folder aside (renamed, never deleted) so the platform starts afresh.

    Raises
    ------
    ConfigError
        With ``--exchange binance`` (there is no replay), or when the
        database lives outside the data folder (it would not start afresh).
    """
    if settings.exchange != "sim":
        raise ConfigError(
            "--restart-replay restarts the simulator's replay: use it with --exchange sim"
        )
    folder = data_dir(settings.data_dir, create=False)
    client = settings.client
    if client.database_url is not None or (
        client.data_dir is not None and data_dir(client.data_dir, create=False) != folder
    ):
        raise ConfigError(
            "--restart-replay starts a fresh data folder, but the database is configured "
            "outside it (client.database_url / client.data_dir): point it at a new database instead"
        )
    if not folder.exists():
        typer.echo(f"no data folder at {folder} yet: starting fresh")
        return
    moved = move_aside(folder)
    typer.echo(f"previous data folder moved to {moved} (nothing deleted); starting fresh")


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
        help="Comma-separated symbols (default: all replayed; required with --exchange binance).",
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
RestartReplay = Annotated[
    bool,
    typer.Option(
        "--restart-replay",
        help="Replay from the start on a fresh data folder: the current one is renamed "
        "with a UTC time suffix (nothing is deleted). By default a restart resumes the "
        "replay after the newest stored candle.",
    ),
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
    restart_replay: RestartReplay = False,
) -> None:
    """Run the whole platform in one process (offline on the simulator by default).

    The market, trade and client services share one port and one data
    folder. On the simulator, a restart on the same data folder resumes the
    replay after the newest stored candle.
    """
    o = _overrides(data, speed, port, exchange, record, data_dir, symbols, interval)
    _start(config, o, client=True, banner="AVD platform", restart_replay=restart_replay)


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
    restart_replay: RestartReplay = False,
) -> None:
    """Serve the MarketContext service alone: market data, contexts, signals, /stream.

    Its collector, engine and (offline) simulator replay, with the market
    routes only: no accounts and no trading (`avd serve client` and
    `avd serve trade` serve those; `avd run` serves all three together).
    It takes the platform's configuration file.
    """
    o = _overrides(data, speed, port, exchange, record, data_dir, symbols, interval)
    _start(
        config,
        o,
        client=False,
        banner="AVD MarketContext service",
        restart_replay=restart_replay,
    )


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
