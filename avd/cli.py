"""The ``avd`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

import avd
from avd.api.startup import StartupFailure
from avd.engine import BatchResult, MarketEngine, load_engine_config
from avd.exceptions import AvdError
from avd.history import discover, read_candles, sample_dir

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

# Wide enough for the context table even when the output is not a terminal.
console = Console(width=None if sys.stdout.isatty() else 140)

P = ParamSpec("P")
R = TypeVar("R")


def _one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn AVD and OS errors into a one-line message and exit status 2."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (AvdError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return run


def _run_server(serve: Callable[[], None], failure: StartupFailure, what: str) -> None:
    """Run a server until it returns; a failed start is one line and exit status 2.

    uvicorn exits (status 3) when the app's lifespan failed; the
    :class:`~avd.api.startup.StartupGuard` in the app kept the reason.
    """
    try:
        serve()
    except SystemExit:
        if failure.error is None:
            raise
    if failure.error is not None:
        typer.echo(f"error: {what} did not {failure.phase}: {failure.describe()}", err=True)
        raise typer.Exit(2)


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
@_one_line_errors
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


# Commands of the other areas register themselves on `app` / `serve_app`.
from avd.api.client import commands as _client_commands  # noqa: E402,F401
from avd.api.trade import commands as _trade_commands  # noqa: E402,F401
from avd.backtest import commands as _backtest_commands  # noqa: E402,F401
from avd.exchange.simulator import commands as _sim_commands  # noqa: E402,F401
from avd.orchestrator import commands as _run_commands  # noqa: E402,F401


def main() -> None:
    """Entry point of the ``avd`` command."""
    app()


if __name__ == "__main__":
    # `python -m avd.cli`: run the registered module, not this __main__ copy
    from avd.cli import main as _main

    _main()
