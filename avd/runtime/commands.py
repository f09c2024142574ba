"""``avd run`` and ``avd replay``, and the start of ``avd serve market``.

The market service's command line (its options) lives in
:mod:`avd.services.market.commands`; the platform it starts is wired here.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvloop

from avd.console import console, one_line_errors, run_server
from avd.exceptions import ConfigError
from avd.exchange.preflight import check_binance_reachable
from avd.net import check_port_free
from avd.paths import data_dir, move_aside
from avd.services.market.commands import (
    Bus,
    Config,
    Data,
    DataDir,
    Exchange,
    Interval,
    Port,
    Record,
    RestartReplay,
    Speed,
    Symbols,
    market_overrides,
)
from avd.settings import load_settings

if TYPE_CHECKING:
    from avd.runtime.settings import PlatformSettings


def _start(
    config: Path | None,
    overrides: dict[str, Any],
    *,
    client: bool,
    banner: str,
    restart_replay: bool = False,
) -> None:
    from avd.runtime.platform import Platform
    from avd.runtime.settings import PlatformSettings

    settings = load_settings(PlatformSettings, config, **_merge_file(config, overrides))
    preflight(settings)
    if restart_replay:
        fresh_data_dir(settings)
    platform = Platform(settings, client=client)
    url = f"http://{settings.host}:{settings.port}"
    if client and settings.dashboards:
        console.print(
            f"[bold]{banner}[/bold]: dashboard on [bold]{url}/[/bold]  "
            f"(exchange: {settings.exchange}; Ctrl-C stops)"
        )
        console.print(f"  log in or register: {url}/login   admins: {url}/admin")
    else:
        console.print(
            f"[bold]{banner}[/bold] on {url}  (exchange: {settings.exchange}; Ctrl-C stops)"
        )
    console.print(
        f"  contexts: {url}/symbols/contexts   signals: {url}/signals   health: {url}/health\n"
        f"  API schema: {url}/openapi.json   live stream: ws://{settings.host}:{settings.port}/stream\n"
        f"  logs: {platform.folder / 'logs' / 'avd.jsonl'}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_server(lambda: uvloop.run(platform.serve()), platform.startup_failure, banner)


def preflight(settings: PlatformSettings) -> None:
    """Refuse, before anything starts, what would fail inside the server's startup.

    Raises
    ------
    ConfigError
        More than one interval for the simulator.
    OSError
        Binance unreachable (bounded by a short timeout), or the API port taken.
    """
    if settings.exchange == "binance":
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


@one_line_errors
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
    bus: Bus = None,
) -> None:
    """Run the whole platform in one process (offline on the simulator by default).

    The market, trade and client services share one port and one data
    folder. On the simulator, a restart on the same data folder resumes the
    replay after the newest stored candle.
    """
    o = market_overrides(data, speed, port, exchange, record, data_dir, symbols, interval, bus=bus)
    _start(config, o, client=True, banner="AVD platform", restart_replay=restart_replay)


@one_line_errors
def replay(
    directory: Annotated[Path, typer.Argument(help="A folder written by `avd run --record DIR`.")],
) -> None:
    """Feed a recording back through the market pipeline and compare the outcome."""
    from avd.domain.events import ContextScoreCalculated, Event, SignalGenerated
    from avd.runtime.hub import EventHub
    from avd.runtime.recorder import read_recording, recorded_inputs
    from avd.services.market.regimes import RegimeSettings
    from avd.services.market.service import MarketContext

    recorded = list(read_recording(directory))
    klines = list(recorded_inputs(directory))
    rec_signals = [e for e in recorded if isinstance(e, SignalGenerated)]

    async def main() -> tuple[int, list[SignalGenerated]]:
        hub = EventHub()
        MarketContext(hub, regimes=RegimeSettings(enabled=False))  # information only
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


def start_market(config: Path | None, overrides: dict[str, Any], restart_replay: bool) -> None:
    """Start the MarketContext service alone (``avd serve market``)."""
    _start(
        config,
        overrides,
        client=False,
        banner="AVD MarketContext service",
        restart_replay=restart_replay,
    )


def register(app: typer.Typer) -> None:
    """Add ``avd run`` and ``avd replay`` to the command line."""
    app.command()(run)
    app.command()(replay)
