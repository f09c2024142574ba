"""The ``avd`` command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

import avd
from avd.backtest import commands as backtest_commands
from avd.console import console, one_line_errors
from avd.engine import BatchResult, MarketEngine, load_engine_config
from avd.exchange.simulator import commands as sim_commands
from avd.history import discover, read_candles, sample_dir
from avd.runtime import commands as runtime_commands
from avd.runtime import standalone
from avd.services.client import commands as client_commands
from avd.services.market import commands as market_commands
from avd.services.trade import commands as trade_commands
from avd.ui import commands as ui_commands

app = typer.Typer(
    name="avd",
    help="AVD: a mid-frequency, directional trading platform for Binance spot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click hands these to every sub-command's context: `-h` works everywhere
    context_settings={"help_option_names": ["-h", "--help"]},
)
serve_app = typer.Typer(
    help="Serve one service alone, on its own port (`avd run` serves all of them together).",
    no_args_is_help=True,
)
app.add_typer(serve_app, name="serve")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"avd {avd.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """AVD: a mid-frequency, directional trading platform for Binance spot."""


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


@app.command()
@one_line_errors
def engine(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="A candle file or a folder of SYMBOL-INTERVAL.csv.gz files "
            "(the ../shared/data format). Default: the bundled sample.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Engine configuration (JSON).")
    ] = None,
    signals: Annotated[
        int, typer.Option("--signals", min=0, help="Latest signals to list per symbol.")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Run the market engine over candle files.

    Prints each symbol's latest context and the signals it produced.
    """
    files = discover(data if data is not None else sample_dir())
    market = MarketEngine(load_engine_config(config))
    results: list[BatchResult] = [market.on_candles(read_candles(f)) for f in files]
    report = [_stream_report(market, r, signals) for r in results]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_report(report)


def _stream_report(market: MarketEngine, r: BatchResult, last: int) -> dict[str, Any]:
    ctx = market.context(r.symbol, r.interval)
    state = market.state(r.symbol, r.interval)
    return {
        "symbol": r.symbol,
        "interval": r.interval,
        "candles": len(r),
        "gaps": len(r.gaps),
        "context": None
        if ctx is None
        else {
            "score": round(ctx.score, 2),
            "direction": ctx.direction,
            "pattern": ctx.pattern,
            "components": {k: round(v, 1) for k, v in ctx.components.items()},
            "timestamp": ctx.timestamp,
            "close": ctx.close,
        },
        "signal_count": state["signals"],
        "signals": [
            {
                "generated_at": s.generated_at,
                "side": s.side,
                "confidence": round(s.confidence, 3),
                "price": s.price,
                "reason": s.reason,
            }
            for s in r.signals[-last:]
        ]
        if last
        else [],
    }


_COMPONENTS = ("trend", "momentum", "volatility", "volume", "breakout", "flow")


def _print_report(report: list[dict[str, Any]]) -> None:
    table = Table(title="Latest context per symbol", title_justify="left")
    for col in ("symbol", "tf", "candles", "close", "score", "direction", "pattern"):
        table.add_column(col, no_wrap=True)
    for comp in _COMPONENTS:
        table.add_column(comp, justify="right")
    table.add_column("signals", justify="right")
    for s in report:
        c = s["context"]
        head = [s["symbol"], s["interval"], str(s["candles"])]
        if c is None:
            table.add_row(*head, "-", "warming up", *[""] * (len(_COMPONENTS) + 2), "0")
            continue
        table.add_row(
            *head,
            f"{c['close']:g}",
            f"{c['score']:.1f}",
            c["direction"],
            c["pattern"],
            *(f"{c['components'][k]:.0f}" for k in _COMPONENTS),
            str(s["signal_count"]),
        )
    console.print(table)
    for s in report:
        if not s["signals"]:
            continue
        t = Table(title=f"{s['symbol']} {s['interval']}: latest signals", title_justify="left")
        for col in ("time (UTC)", "side", "conf", "price", "reason"):
            t.add_column(col)
        for sig in s["signals"]:
            t.add_row(
                _utc(sig["generated_at"]),
                sig["side"],
                f"{sig['confidence']:.2f}",
                f"{sig['price']:g}",
                sig["reason"],
            )
        console.print(t)


# Each area's commands.py adds its commands; `avd serve trade` and `avd serve
# market` get their wiring (the event hub, the transports) from the runtime.
client_commands.register(app, serve_app, standalone.client_app)
trade_commands.register(app, serve_app, standalone.serve_trade)
market_commands.register(app, serve_app, runtime_commands.start_market)
ui_commands.register(serve_app)
backtest_commands.register(app)
sim_commands.register(app)
runtime_commands.register(app)


def main() -> None:
    """Entry point of the ``avd`` command."""
    app()


if __name__ == "__main__":
    # `python -m avd.cli`: run the registered module, not this __main__ copy
    from avd.cli import main as _main

    _main()
