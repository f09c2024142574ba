"""The backtester, side by side with its peers on the same ~1,000,000 real bars.

- the AVD strategy backtest (live engine, sizing, stops, fills), candles/s,
  single-threaded;
- the SMA(10)/SMA(30) crossover through ``from_signals`` against
  backtesting.py (in the dev extra), vectorbt's ``Portfolio.from_signals``
  and NautilusTrader's ``BacktestEngine`` (each in its own venv under
  ``.venv-peers/``, created on first use);
- a sweep on 2 threads against the same sweep on 1;
- the extra peak memory of a run against the size of its input.

With benchmarks disabled (``make test``) each runs once on AVD's side and
the heavy peers are skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avd.backtest import Backtest, from_signals
from avd.history import Candles

from . import peer_venv

FEE = 0.001
SWEEP_BARS = 250_000


def as_candles(bars: dict[str, np.ndarray], n: int | None = None) -> Candles:
    cut = slice(0, n)
    k = len(bars["open_time"][cut])
    nan = np.full(k, np.nan)
    return Candles(
        "BTCUSDT",
        "1m",
        np.ascontiguousarray(bars["open_time"][cut]),
        *(np.ascontiguousarray(bars[f][cut]) for f in ("open", "high", "low", "close", "volume")),
        nan,
        nan,
        nan,
    )


def sma(x: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(x).rolling(n).mean().to_numpy()


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


@pytest.fixture(scope="module")
def sma_signals(million: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    fast, slow = sma(million["close"], 10), sma(million["close"], 30)
    return crossover(fast, slow), crossover(slow, fast)


def test_avd_strategy_backtest_candles_per_second(
    side_by_side: Callable[..., None], million: dict[str, np.ndarray]
) -> None:
    c = as_candles(million)
    bt = Backtest()
    side_by_side("strategy backtest", lambda: bt.run(c), None, "", len(c))


def _backtesting_py(
    million: dict[str, np.ndarray], entries: np.ndarray, exits: np.ndarray
) -> Callable[[], object]:
    from backtesting import Backtest as BtPy
    from backtesting import Strategy

    df = pd.DataFrame(
        {
            "Open": million["open"],
            "High": million["high"],
            "Low": million["low"],
            "Close": million["close"],
            "Volume": million["volume"],
        },
        index=pd.to_datetime(million["open_time"], unit="ms"),
    )

    class Cross(Strategy):
        def init(self) -> None:
            self.ent = self.I(lambda: entries, name="entries", plot=False)
            self.ex = self.I(lambda: exits, name="exits", plot=False)

        def next(self) -> None:
            if self.ent[-1] and not self.position:
                self.buy()
            elif self.ex[-1] and self.position:
                self.position.close()

    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return BtPy(df, Cross, cash=1e12, commission=FEE, finalize_trades=True).run()

    return run


def _peer_in_venv(
    name: str, million: dict[str, np.ndarray], e: np.ndarray, x: np.ndarray
) -> float | None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "bars.npz"
        np.savez(f, entries=e, exits=x, **million)
        # NautilusTrader takes about a minute per million bars: one run.
        out = peer_venv.run(name, f, repeat=1 if name == "nautilus" else 3)
    if out is None:
        sys.stderr.write(f"{name}: peer venv unavailable, not compared\n")
        return None
    return float(out["seconds"])


def _ours(million: dict[str, np.ndarray], e: np.ndarray, x: np.ndarray) -> Callable[[], object]:
    o, h, lo, c = (np.ascontiguousarray(million[k]) for k in ("open", "high", "low", "close"))
    return lambda: from_signals(o, h, lo, c, e, x, fee=FEE, init_cash=10_000.0)


def test_from_signals_vs_backtesting_py(
    side_by_side: Callable[..., None],
    million: dict[str, np.ndarray],
    sma_signals: tuple[np.ndarray, np.ndarray],
    benchmark: Any,
) -> None:
    e, x = sma_signals
    peer = None if benchmark.disabled else _backtesting_py(million, e, x)
    side_by_side(
        "from_signals vs backtesting.py",
        _ours(million, e, x),
        peer,
        "backtesting.py",
        len(e),
        repeat=1,
    )


@pytest.mark.parametrize("peer", ["vectorbt", "nautilus"])
def test_from_signals_vs_peer_in_its_own_venv(
    side_by_side: Callable[..., None],
    million: dict[str, np.ndarray],
    sma_signals: tuple[np.ndarray, np.ndarray],
    peer: str,
) -> None:
    e, x = sma_signals
    side_by_side(
        f"from_signals vs {peer}",
        _ours(million, e, x),
        None,
        peer,
        len(e),
        peer_seconds=lambda: _peer_in_venv(peer, million, e, x),
    )


def test_sweep_speedup_two_threads_over_one(
    side_by_side: Callable[..., None], million: dict[str, np.ndarray]
) -> None:
    c = as_candles(million, SWEEP_BARS)
    spec = {"grid": {"stops.stop_atr": [1.5, 2.0, 2.5, 3.0]}}
    bt = Backtest()
    side_by_side(
        "sweep 2 threads (ratio = speed-up)",
        lambda: bt.sweep(spec, c, threads=2),
        lambda: bt.sweep(spec, c, threads=1),
        "1 thread",
        4 * len(c),
        repeat=3,
    )


_MEMORY_PROBE = """
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, {repo!r})
from benchmarks.test_backtest import as_candles
from avd.backtest import Backtest

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

bars = dict(np.load({path!r}))
c = as_candles(bars)
bt = Backtest()
bt.run(as_candles(bars, 50_000))  # code paths and allocator warmed up
Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
before = status("VmRSS")
r = bt.run(c)
peak = status("VmHWM")
size = sum(getattr(c, f).nbytes for f in ("open_time", "open", "high", "low", "close", "volume"))
print(json.dumps({{"extra": peak - before, "input": size, "bars": len(c)}}))
"""


def test_peak_memory_against_the_input(million: dict[str, np.ndarray]) -> None:
    """A fresh process: the peak RSS a million-bar run adds, against the input's size.

    The input (the candle columns) is already in memory; ``VmHWM`` is reset
    just before the run, so the figure is what the run itself adds: the
    engine, the equity curve, the trades and the result arrays.
    """
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "bars.npz"
        np.savez(f, **million)
        code = _MEMORY_PROBE.format(repo=str(Path(__file__).resolve().parents[1]), path=str(f))
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout.strip().splitlines()[-1])
    ratio = m["extra"] / m["input"]
    sys.stderr.write(
        f"\npeak memory: +{m['extra'] / 2**20:.1f} MiB for {m['input'] / 2**20:.1f} MiB of input "
        f"({m['bars']:,} bars): {ratio:.2f}x\n"
    )
    (Path(__file__).parent / "last_memory.json").write_text(json.dumps({**m, "ratio": ratio}))
    assert ratio <= 2.0
