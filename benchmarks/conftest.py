"""Shared data and the side-by-side report of the benchmark suites.

Each benchmark measures AVD and its peer in the same process, on the same
1,000,000 real bars, and records the pair in ``SIDE_BY_SIDE``; the terminal
summary prints the ratios (and the Rust pipeline figure from criterion, when
``cargo bench`` ran before, as ``make bench`` does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avd.history import read_candles

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TILES = 24  # BTCUSDT's 43,199 1m candles x 24 = 1,036,776 bars
CRITERION = REPO / "core" / "target" / "criterion"

# glibc's malloc, fixed for the whole run: every array up to 32 MB (the
# largest here: a million bars' three BBANDS columns in one 24 MB block) from
# the heap, and the heap never trimmed. By default both thresholds move with
# the process's history (a freed mmapped block raises them), so whether an
# 8-24 MB output array costs thousands of fresh page faults (2-3 ms a
# million bars) depended on which test ran before, for AVD and its peers
# alike: ratios moved by 30 % between identical runs (BBANDS 0.97-1.45,
# from_signals 9.5-14.8x). Now neither side pays faults after its first call.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
# AVD_BENCH_DEFAULT_MALLOC=1 keeps glibc's moving thresholds (to compare with
# figures measured before 2026-12-07 21:30 UTC).
_libc_name = ctypes.util.find_library("c")
if _libc_name and os.environ.get("AVD_BENCH_DEFAULT_MALLOC") != "1":
    _libc = ctypes.CDLL(_libc_name)
    if hasattr(_libc, "mallopt"):
        _libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        _libc.mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)

# name -> {"ours": seconds, "peer": seconds, "peer_name": str, "n": bars}
SIDE_BY_SIDE: dict[str, dict[str, Any]] = {}
# other measured figures (no peer): name -> {metric: value}
RESULTS: dict[str, dict[str, Any]] = {}
ENABLED: list[bool] = []


@pytest.fixture(scope="session")
def million() -> dict[str, np.ndarray]:
    """About a million real 1m bars: BTCUSDT's month tiled with shifted times."""
    c = read_candles(SHARED_DATA / "BTCUSDT-1m.csv.gz")
    span = int(c.open_time[-1] - c.open_time[0]) + 60_000
    shift = np.repeat(np.arange(TILES, dtype=np.int64) * span, len(c))
    bars = {k: np.tile(getattr(c, k), TILES) for k in ("open", "high", "low", "close", "volume")}
    bars["open_time"] = np.tile(c.open_time, TILES) + shift
    return bars


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.fixture
def side_by_side(request: pytest.FixtureRequest, benchmark: Any) -> Callable[..., None]:
    """Measure ours (through pytest-benchmark) and a peer, in this run."""

    def run(
        name: str,
        ours: Callable[[], object],
        peer: Callable[[], object] | None,
        peer_name: str,
        n: int,
        repeat: int = 7,
        peer_scale: float = 1.0,
        peer_seconds: Callable[[], float | None] | None = None,
    ) -> None:
        benchmark(ours)
        if benchmark.disabled:
            return  # a smoke run in `make test`: ran once, nothing to compare
        ENABLED.append(True)
        entry: dict[str, Any] = {"ours": benchmark.stats.stats.min, "n": n, "peer_name": peer_name}
        if peer is not None:
            entry["peer"] = best_of(peer, repeat) * peer_scale
        elif peer_seconds is not None:  # a peer timed elsewhere (its own venv)
            seconds = peer_seconds()
            if seconds is not None:
                entry["peer"] = seconds * peer_scale
        SIDE_BY_SIDE[name] = entry

    return run


def _criterion_ns(bench: str, n: int) -> float | None:
    est = CRITERION / "pipeline" / bench / "new" / "estimates.json"
    if not est.exists():
        return None
    return float(json.loads(est.read_text())["median"]["point_estimate"]) / n


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ENABLED and not RESULTS:
        return
    tr = terminalreporter
    for name, figures in RESULTS.items():
        tr.write_line(
            f"{name}: "
            + ", ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
            )
        )
    if not ENABLED:
        return
    tr.section("AVD side by side (same run, same data)")
    rows = []
    for name, e in sorted(SIDE_BY_SIDE.items()):
        ours_ns = e["ours"] / e["n"] * 1e9
        line = f"{name:<28} ours {e['ours'] * 1e3:9.2f} ms ({ours_ns:7.2f} ns/bar)"
        if "peer" in e:
            ratio = e["peer"] / e["ours"]
            line += f"   {e['peer_name']} {e['peer'] * 1e3:9.2f} ms   ratio {ratio:6.2f}x"
            rows.append(
                {
                    "name": name,
                    "ours_ms": e["ours"] * 1e3,
                    "peer": e["peer_name"],
                    "peer_ms": e["peer"] * 1e3,
                    "ratio": ratio,
                    "n": e["n"],
                }
            )
        tr.write_line(line)
    pipe = SIDE_BY_SIDE.get("pipeline on_klines")
    rust_ns = _criterion_ns("on_kline", pipe["n"]) if pipe else None
    if pipe:
        py_ns = pipe["ours"] / pipe["n"] * 1e9
        if rust_ns is not None:
            tr.write_line(
                f"pipeline: Rust on_kline {rust_ns:.1f} ns/kline (criterion), Python on_klines "
                f"{py_ns:.1f} ns/kline: {py_ns / rust_ns:.2f}x the Rust figure"
            )
        else:
            tr.write_line("pipeline: run `cargo bench --bench pipeline` first for the Rust figure")
    out = REPO / "benchmarks" / "last_run.json"
    out.write_text(
        json.dumps({"side_by_side": SIDE_BY_SIDE, "rust_on_kline_ns": rust_ns}, indent=2)
    )
    tr.write_line(f"(written to {out.relative_to(REPO)})")
