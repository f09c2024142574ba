"""``avd backtest`` and ``avd sweep``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from avd.backtest.checks import check_in_data, check_lower_overlap, check_out, check_window
from avd.backtest.data import load_lower, load_one_interval
from avd.backtest.report import ARTIFACTS, fmt_stat, write_report
from avd.backtest.runner import STAT_LABELS, Backtest, BacktestResult
from avd.console import console, one_line_errors
from avd.exceptions import ConfigError
from avd.history import Candles

#: Runs longer than this many candles get a progress bar.
PROGRESS_MIN_CANDLES = 500_000

DataOpt = Annotated[
    list[Path],
    typer.Option(
        "--data",
        help="Candle file or folder (repeatable): AVD CSV, Binance raw kline CSV or JSON.",
    ),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Strategy configuration (JSON).")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Trade from this UTC date/time (YYYY-MM-DD[THH:MM]) or ms."),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Trade until this UTC date/time (excluded).")
]
LowerOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--lower",
        help="Finer candles of the symbols, to resolve exits in a candle "
        "(file or folder, repeatable; each symbol's finest interval is used).",
    ),
]
IntervalOpt = Annotated[
    str | None,
    typer.Option(
        "--interval",
        help="The interval to trade when --data holds several per symbol "
        "(default: the finest every symbol has).",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run the sweep (or walk-forward) on this Dask scheduler (tcp://host:8786); "
        "needs pip install 'avd[distributed]'.",
    ),
]
ChunkOpt = Annotated[
    int | None,
    typer.Option(
        "--chunk-size",
        min=1,
        help="With --scheduler: combinations per Dask task (default: 4 tasks per worker thread).",
    ),
]


def parse_time(text: str | None, what: str) -> int | None:
    """Milliseconds since the epoch from ``YYYY-MM-DD[THH:MM[:SS]]`` (UTC) or an integer."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--{what}: {text!r} is not a date (YYYY-MM-DD[THH:MM]) or ms") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _stats_table(result: BacktestResult) -> Table:
    t = Table(title=f"Backtest: {', '.join(result.symbols)}")
    t.add_column("statistic")
    t.add_column("value", justify="right")
    for k, (label, _) in STAT_LABELS.items():
        if k in result.stats:
            t.add_row(label, fmt_stat(k, result.stats[k]))
    return t


def _load(
    data: list[Path],
    lower: list[Path],
    interval: str | None,
    start: int | None,
    end: int | None,
) -> tuple[list[Candles], list[Candles]]:
    """The traded and the finer candles, checked against the window; says what was chosen."""
    candles, choice = load_one_interval(data, interval)
    if choice.was_choice:
        console.print(f"data: {choice.note()}", soft_wrap=True, markup=False)
    check_in_data(candles, start, end)
    finer: list[Candles] = []
    if lower:
        finer, note = load_lower(lower, {c.symbol: c.interval for c in candles})
        if note is not None:
            console.print(note, soft_wrap=True, markup=False)
        check_lower_overlap(candles, finer, start, end)
    return candles, finer


def _run(
    bt: Backtest,
    candles: list[Candles],
    finer: list[Candles],
    start: int | None,
    end: int | None,
) -> BacktestResult:
    total = sum(len(c) for c in candles)
    if total < PROGRESS_MIN_CANDLES or not console.is_terminal:
        return bt.run(*candles, lower=finer, start=start, end=end)
    with Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} candles"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=total)
        return bt.run(
            *candles,
            lower=finer,
            start=start,
            end=end,
            on_progress=lambda done, _n: bar.update(task, completed=done),
        )


@one_line_errors
def backtest(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report (replaced).")],
    config: ConfigOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    lower: LowerOpt = None,
    sweep: Annotated[
        Path | None, typer.Option("--sweep", help="Run this sweep (JSON) instead of one backtest.")
    ] = None,
    interval: IntervalOpt = None,
    scheduler: SchedulerOpt = None,
    chunk_size: ChunkOpt = None,
) -> None:
    """Backtest the AVD strategy; writes report.json, trades.csv, equity.png, report.html.

    Everything is checked before the run: the report folder can be written,
    --from is before --to and holds candles, --lower overlaps the data.
    """
    check_out(out)
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    check_window(start, end)
    bt = Backtest(config)
    candles, finer = _load(data, lower or [], interval, start, end)
    if sweep is not None:
        _sweep(bt, sweep, candles, finer, start, end, None, False, out, 20, scheduler, chunk_size)
        return
    result = _run(bt, candles, finer, start, end)
    console.print(_stats_table(result))
    write_report(result, out)
    console.print(f"wrote {', '.join(ARTIFACTS)} to {out}")


def _write_json(out: Path, name: str, doc: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, out / name)


def _sweep(
    bt: Backtest,
    spec: Path,
    candles: list[Candles],
    finer: list[Candles],
    start: int | None,
    end: int | None,
    threads: int | None,
    walk: bool,
    out: Path | None,
    top: int = 20,
    scheduler: str | None = None,
    chunk_size: int | None = None,
) -> None:
    if walk:
        if scheduler is None:
            res = bt.walk_forward(spec, *candles, lower=finer, threads=threads)
        else:
            with _dask_bar("walk-forward on dask", "windows") as progress:
                res = bt.walk_forward(
                    spec,
                    *candles,
                    lower=finer,
                    threads=threads,
                    scheduler=scheduler,
                    on_progress=progress,
                )
        t = Table(title=f"Walk-forward ({res['metric']})")
        for c in ("train", "test", *res["params"], "train score", "test score", "test return"):
            t.add_column(c)
        for w in res["windows"]:
            t.add_row(
                _day(w["train_start"]) + " → " + _day(w["train_end"]),
                _day(w["train_end"]) + " → " + _day(w["test_end"]),
                *(json.dumps(v) for v in w["best"]),
                _num(w["train_score"]),
                _num(w["test_score"]),
                fmt_stat("total_return", w["test"]["total_return"]),
            )
        console.print(t)
        if out is not None:
            _write_json(out, "walk_forward.json", res)
        return
    if scheduler is None:
        res = bt.sweep(spec, *candles, lower=finer, start=start, end=end, threads=threads)
    else:
        res = _sweep_on_dask(bt, spec, candles, finer, start, end, threads, scheduler, chunk_size)
    t = Table(title=f"Sweep: {len(res['rows'])} runs ranked by {res['metric']}")
    t.add_column("#", justify="right")
    for p in res["params"]:
        t.add_column(p)
    for c in ("total_return", "sharpe", "max_drawdown", "trades"):
        t.add_column(c, justify="right")
    for i, r in enumerate(res["rows"][:top], 1):
        s = r["stats"]
        t.add_row(
            str(i),
            *(json.dumps(v) for v in r["values"]),
            *(fmt_stat(c, _f(s[c])) for c in ("total_return", "sharpe", "max_drawdown", "trades")),
        )
    console.print(t)
    if out is not None:
        _write_json(out, "sweep.json", res)


@contextmanager
def _dask_bar(title: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of the work done on the cluster; yields its update function."""
    with Progress(
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _sweep_on_dask(
    bt: Backtest,
    spec: Path,
    candles: list[Candles],
    finer: list[Candles],
    start: int | None,
    end: int | None,
    threads: int | None,
    scheduler: str,
    chunk_size: int | None,
) -> dict[str, Any]:
    """The sweep on a Dask cluster, with a progress bar of the combinations done."""
    with _dask_bar("sweep on dask", "runs") as progress:
        res = bt.sweep(
            spec,
            *candles,
            lower=finer,
            start=start,
            end=end,
            threads=threads,
            scheduler=scheduler,
            chunk_size=chunk_size,
            on_progress=progress,
        )
    console.print(f"dask: {len(res['rows'])} runs on {scheduler}", soft_wrap=True, markup=False)
    return res


def _f(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@one_line_errors
def sweep(
    data: DataOpt,
    spec: Annotated[Path, typer.Option("--spec", help="Sweep specification (JSON).")],
    config: ConfigOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    lower: LowerOpt = None,
    threads: Annotated[int | None, typer.Option(help="Worker threads (0: every core).")] = None,
    walk_forward: Annotated[
        bool, typer.Option("--walk-forward", help="Walk-forward analysis (spec: walk_forward).")
    ] = False,
    top: Annotated[int, typer.Option(help="Rows shown.")] = 20,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for sweep.json.")] = None,
    interval: IntervalOpt = None,
    scheduler: SchedulerOpt = None,
    chunk_size: ChunkOpt = None,
) -> None:
    """Grid or random parameter sweep (parallel), or walk-forward analysis.

    With --scheduler the runs go to a Dask cluster (pip install
    'avd[distributed]'); the result is the local one, row for row.
    """
    if out is not None:
        check_out(out)
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    check_window(start, end)
    bt = Backtest(config)
    candles, finer = _load(data, lower or [], interval, start, end)
    _sweep(
        bt, spec, candles, finer, start, end, threads, walk_forward, out, top, scheduler, chunk_size
    )


def register(app: typer.Typer) -> None:
    """Add ``avd backtest`` and ``avd sweep`` to the command line."""
    app.command()(backtest)
    app.command()(sweep)
