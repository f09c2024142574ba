"""Entry levels: the per-candle cost of keeping levels up to date, and pivots against finta.

* ``LevelTracker.update_many`` feeds the ~1,000,000 real bars one candle at a
  time in Rust (swings confirmed, zones updated): its time per bar is what
  levels add to the engine per closed candle. The engine pipeline
  (``MarketEngine.on_klines``) is measured in the same run, on the same bars,
  to keep that cost in view (the "peer" column: pipeline / levels).
* ``pivots`` (classic, Fibonacci) against finta's ``PIVOT`` / ``PIVOT_FIB``
  on the same columns (finta computes pandas columns; it also shifts by one
  row and adds S4/R4, see tests/test_levels.py).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from avd import levels
from avd.engine import MarketEngine

from .conftest import RESULTS

PY_LOOP_BARS = 20_000


def test_level_tracker_per_candle_vs_the_pipeline(
    million: dict[str, np.ndarray], side_by_side: Any, benchmark: Any
) -> None:
    h, lo, c = million["high"], million["low"], million["close"]

    def ours() -> object:
        return levels.LevelTracker().update_many(h, lo, c)

    def pipeline() -> object:
        return MarketEngine().on_klines("BTCUSDT", "1m", **million)

    side_by_side(
        "levels tracker per candle", ours, pipeline, "pipeline on_klines", len(h), repeat=3
    )
    if benchmark.disabled:
        return
    # the same updates one Python call per candle (what a per-kline caller pays)
    tracker = levels.LevelTracker()
    hs, ls, cs = h[:PY_LOOP_BARS].tolist(), lo[:PY_LOOP_BARS].tolist(), c[:PY_LOOP_BARS].tolist()
    t0 = time.perf_counter()
    for i in range(PY_LOOP_BARS):
        tracker.update(hs[i], ls[i], cs[i])
    per_call = (time.perf_counter() - t0) / PY_LOOP_BARS * 1e9
    batch = levels.support_resistance(h, lo, c)
    RESULTS["levels"] = {
        "update() from Python, ns/call": per_call,
        "zones kept": len(batch["center"]),
    }


@pytest.mark.parametrize(
    ("method", "finta_name"), [("classic", "PIVOT"), ("fibonacci", "PIVOT_FIB")]
)
def test_pivots_vs_finta(
    million: dict[str, np.ndarray], side_by_side: Any, method: str, finta_name: str
) -> None:
    pd = pytest.importorskip("pandas")
    finta = pytest.importorskip("finta", reason="finta is in the dev extra (`make bench`)")
    h, lo, c = million["high"], million["low"], million["close"]
    df = pd.DataFrame({"open": million["open"], "high": h, "low": lo, "close": c})
    fn = getattr(finta.TA, finta_name)
    side_by_side(
        f"levels pivots {method}",
        lambda: levels.pivots(h, lo, c, method),
        lambda: fn(df),
        "finta 1.3",
        len(h),
        repeat=3,
    )
