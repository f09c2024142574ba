"""The strategy backtester: the live decision engine on history, in Rust.

``Backtest(config).run(candles...)`` merges the symbols' candles by time and
runs each through the live ``MarketEngine`` (scores, signals), the risk
sizing, the stop tracker and the fill model; the rules (time alignment,
latency, the intrabar assumption, fees) are documented in
``core/src/backtest/engine.rs`` and the README's *Backtesting* section.
Sweeps and walk-forward analysis run in parallel in Rust with the GIL
released.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avd import _core
from avd.backtest import data as _data
from avd.exceptions import ConfigError
from avd.history import Candles
from avd.types import FloatArray, IntArray

ConfigSource = Mapping[str, Any] | str | Path | None
DataSource = Candles | str | Path

#: Statistics in display order, with how to show them.
STAT_LABELS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "sharpe": ("Sharpe", "num"),
    "sortino": ("Sortino", "num"),
    "max_drawdown": ("Max drawdown", "pct"),
    "calmar": ("Calmar", "num"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "num"),
    "expectancy": ("Expectancy (quote/trade)", "num"),
    "exposure": ("Exposure", "pct"),
    "trades": ("Trades", "int"),
    "avg_trade_bars": ("Avg trade duration (bars)", "num"),
    "final_equity": ("Final equity", "num"),
}


def load_config(source: ConfigSource = None) -> dict[str, Any]:
    """A validated backtest configuration with every key (defaults filled in).

    ``source``: a dict, JSON text, a path to a JSON file, or None (defaults).

    Raises
    ------
    ConfigError
        For unknown keys, bad values or unreadable JSON.
    """
    if source is None:
        text = "{}"
    elif isinstance(source, Path) or (
        isinstance(source, str) and not source.lstrip().startswith("{")
    ):
        p = Path(source)
        if not p.is_file():
            raise ConfigError(f"{p}: no such configuration file")
        text = p.read_text()
    elif isinstance(source, str):
        text = source
    else:
        text = json.dumps(dict(source))
    cfg: dict[str, Any] = json.loads(_core.check_backtest_config(text))
    return cfg


def _series(
    c: Candles,
    lower: Candles | None,
    signals: NDArray[np.int8] | None,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "symbol": c.symbol,
        "interval": c.interval,
        "open_time": np.ascontiguousarray(c.open_time, dtype=np.int64),
    }
    for f in ("open", "high", "low", "close", "volume"):
        d[f] = np.ascontiguousarray(getattr(c, f), dtype=np.float64)
    for f in ("quote_volume", "trades", "taker_buy_base"):
        col = np.asarray(getattr(c, f), dtype=np.float64)
        if not np.isnan(col).all():
            d[f] = np.ascontiguousarray(col)
    if lower is not None:
        d["lower"] = {
            "interval": lower.interval,
            "open_time": np.ascontiguousarray(lower.open_time, dtype=np.int64),
            **{
                f: np.ascontiguousarray(getattr(lower, f), dtype=np.float64)
                for f in ("open", "high", "low", "close")
            },
        }
    if signals is not None:
        d["signals"] = np.ascontiguousarray(signals, dtype=np.int8)
    return d


def _candles(data: Sequence[DataSource]) -> list[Candles]:
    out: list[Candles] = []
    paths: list[str | Path] = []
    for d in data:
        if isinstance(d, Candles):
            out.append(d)
        else:
            paths.append(d)
    if paths:
        out.extend(_data.load(paths))
    return out


@dataclass(frozen=True)
class BacktestResult:
    """A strategy backtest's output.

    ``trades`` maps column names to arrays (``symbol`` and ``reason`` are
    lists of str); times are ms since the epoch (UTC); ``equity`` and
    ``drawdown`` (a fraction) are sampled at the close of each step of the
    aligned timeline.
    """

    trades: dict[str, Any]
    times: IntArray
    equity: FloatArray
    drawdown: FloatArray
    stats: dict[str, float]
    counters: dict[str, float]
    config: dict[str, Any] = field(repr=False)
    symbols: list[str]

    @property
    def n_trades(self) -> int:
        """Number of closed trades."""
        return len(self.trades["reason"])

    def trade_records(self) -> list[dict[str, Any]]:
        """The trades as a list of dicts (one per trade)."""
        keys = list(self.trades)
        return [{k: _plain(self.trades[k][i]) for k in keys} for i in range(self.n_trades)]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class Backtest:
    """A strategy backtest configuration, ready to run on candles.

    Parameters
    ----------
    config
        A dict, JSON text, a JSON file, or None for the defaults; see the
        README's *Backtesting* section for every key.
    """

    def __init__(self, config: ConfigSource = None) -> None:
        self._config = load_config(config)
        self._json = json.dumps(self._config)

    @property
    def config(self) -> dict[str, Any]:
        """The validated configuration, every key present."""
        return dict(self._config)

    def run(
        self,
        *data: DataSource,
        lower: Sequence[DataSource] = (),
        signals: Mapping[str, NDArray[np.int8]] | None = None,
        start: int | None = None,
        end: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> BacktestResult:
        """Run the backtest over candles (``Candles`` or candle files / folders).

        Parameters
        ----------
        lower
            Finer candles of the same symbols (e.g. 1m for a 1h strategy),
            used to resolve exits inside a candle.
        signals
            Per symbol, external signals at each candle's close (+1 BUY,
            -1 SELL, 0 none) replacing the engine's.
        start, end
            Trade candles with ``start <= open_time < end`` (ms); earlier
            candles only warm the engine up.
        on_progress
            Called with ``(candles done, total)`` about ten times a second
            while the run is in Rust (from this thread).
        """
        series = self._prepare(data, lower, signals)
        if on_progress is None:
            out = _core.run_backtest(self._json, series, start=start, end=end)
        else:
            out = self._run_with_progress(series, start, end, on_progress)
        return BacktestResult(
            trades=out["trades"],
            times=out["times"],
            equity=out["equity"],
            drawdown=out["drawdown"],
            stats=out["stats"],
            counters=out["counters"],
            config=self.config,
            symbols=[s["symbol"] for s in series],
        )

    def _prepare(
        self,
        data: Sequence[DataSource],
        lower: Sequence[DataSource],
        signals: Mapping[str, NDArray[np.int8]] | None,
    ) -> list[dict[str, Any]]:
        candles = _candles(data)
        if not candles:
            raise ConfigError("no candles to backtest")
        finer = {c.symbol: c for c in _candles(lower)}
        sig = dict(signals or {})
        unknown = (set(finer) | set(sig)) - {c.symbol for c in candles}
        if unknown:
            raise ConfigError(f"finer or signal series of unknown symbols: {sorted(unknown)}")
        return [_series(c, finer.get(c.symbol), sig.get(c.symbol)) for c in candles]

    def _run_with_progress(
        self,
        series: list[dict[str, Any]],
        start: int | None,
        end: int | None,
        on_progress: Callable[[int, int], None],
    ) -> dict[str, Any]:
        total = sum(len(s["open_time"]) for s in series)
        progress = _core.Progress()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["out"] = _core.run_backtest(
                    self._json, series, start=start, end=end, progress=progress
                )
            except BaseException as exc:  # re-raised in the caller's thread
                box["err"] = exc

        t = threading.Thread(target=work, name="avd-backtest", daemon=True)
        t.start()
        while t.is_alive():
            on_progress(progress.done, total)
            t.join(0.1)
        on_progress(total, total)
        if "err" in box:
            raise box["err"]
        out: dict[str, Any] = box["out"]
        return out

    def sweep(
        self,
        spec: Mapping[str, Any] | str | Path,
        *data: DataSource,
        lower: Sequence[DataSource] = (),
        start: int | None = None,
        end: int | None = None,
        threads: int | None = None,
        scheduler: Any = None,
        chunk_size: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """A grid or random sweep, in parallel; rows ranked best first.

        ``spec``: ``{"metric": "sharpe", "grid": {"stops.trail_pct": [1, 2]}}``
        or ``{"random": {"n": 50, "seed": 1, "params": {...}}}`` (see the
        README). ``threads``: 0 = every core (locally; on a cluster, the
        rayon threads of each task, default 1).

        ``scheduler``: a Dask scheduler's address (``tcp://host:8786``) or a
        ``distributed.Client``: the combinations run there in chunks of
        ``chunk_size`` (see :mod:`avd.backtest.distributed`), with the same
        rows as the local run; ``on_progress(done, total)`` follows them.
        """
        series = self._prepare(data, lower, None)
        spec_text = _spec_text(spec)
        if scheduler is not None:
            from avd.backtest.distributed import sweep_on_dask

            return sweep_on_dask(
                self._json,
                spec_text,
                series,
                scheduler,
                start=start,
                end=end,
                chunk_size=chunk_size,
                threads=1 if threads is None else threads,
                on_progress=on_progress,
            )
        out: dict[str, Any] = json.loads(
            _core.run_sweep(self._json, spec_text, series, start=start, end=end, threads=threads)
        )
        return out

    def walk_forward(
        self,
        spec: Mapping[str, Any] | str | Path,
        *data: DataSource,
        lower: Sequence[DataSource] = (),
        threads: int | None = None,
        scheduler: Any = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Walk-forward analysis: the sweep on rolling train windows, the best on the test ones.

        ``spec`` needs ``"walk_forward": {"train_bars": N, "test_bars": M}``.
        ``scheduler``: a Dask scheduler's address or ``distributed.Client``:
        one task per window there (``threads`` rayon threads each, default
        1), with the local result; ``on_progress(done, total)`` follows the
        windows.
        """
        series = self._prepare(data, lower, None)
        spec_text = _spec_text(spec)
        if scheduler is not None:
            from avd.backtest.distributed import walk_forward_on_dask

            return walk_forward_on_dask(
                self._json,
                spec_text,
                series,
                scheduler,
                threads=1 if threads is None else threads,
                on_progress=on_progress,
            )
        out: dict[str, Any] = json.loads(
            _core.walk_forward(self._json, spec_text, series, threads=threads)
        )
        return out


def _spec_text(spec: Mapping[str, Any] | str | Path) -> str:
    if isinstance(spec, Path) or (isinstance(spec, str) and not spec.lstrip().startswith("{")):
        p = Path(spec)
        if not p.is_file():
            raise ConfigError(f"{p}: no such sweep file")
        return p.read_text()
    if isinstance(spec, str):
        return spec
    return json.dumps(dict(spec))
