"""Sweeps on a Dask cluster: the speed-up of two worker processes over one local process.

- a sweep of 8 configurations over 250,000 real 1m bars on a ``LocalCluster``
  of two worker processes (one thread each) against the same sweep in one
  local process on one thread (the ratio is the speed-up; this machine has
  two cores);
- the overhead per task: 64 chunks of one nearly empty run (500 bars) on the
  two workers, per task, against the same runs locally.

The cluster is started once (outside the timings); each timed sweep
scatters the candles and gathers the rows, as ``avd sweep --scheduler``
does. With benchmarks disabled each runs once as a smoke test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from avd.backtest import Backtest

from .conftest import RESULTS
from .test_backtest import SWEEP_BARS, as_candles

distributed = pytest.importorskip("distributed")

SPEC = {"grid": {"stops.stop_atr": [1.5, 2.0, 2.5, 3.0], "stops.trail_pct": [0, 2]}}
TINY = {"grid": {"stops.stop_atr": [1 + i / 16 for i in range(64)]}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        yield client


def test_sweep_on_two_dask_workers_against_one_local_process(
    side_by_side: Callable[..., None], million: dict[str, np.ndarray], cluster: Any
) -> None:
    c = as_candles(million, SWEEP_BARS)
    bt = Backtest()
    local = bt.sweep(SPEC, c, threads=1)
    assert bt.sweep(SPEC, c, scheduler=cluster, chunk_size=1) == local
    side_by_side(
        "sweep dask 2 workers (ratio = speed-up)",
        lambda: bt.sweep(SPEC, c, scheduler=cluster, chunk_size=1),
        lambda: bt.sweep(SPEC, c, threads=1),
        "1 local process",
        8 * len(c),
        repeat=3,
    )


def test_dask_overhead_per_task(
    benchmark: Any, million: dict[str, np.ndarray], cluster: Any
) -> None:
    c = as_candles(million, 500)
    bt = Backtest()
    n = len(TINY["grid"]["stops.stop_atr"])
    benchmark(lambda: bt.sweep(TINY, c, scheduler=cluster, chunk_size=1))
    if benchmark.disabled:
        return
    t0 = time.perf_counter()
    bt.sweep(TINY, c, threads=1)
    local = time.perf_counter() - t0
    dask = benchmark.stats.stats.min
    RESULTS["dask overhead per task (64 one-run chunks, 2 workers)"] = {
        "per task ms": dask / n * 1e3,
        "local per run ms": local / n * 1e3,
        "overhead per task ms (2 workers)": (dask - local / 2) / n * 1e3,
    }
