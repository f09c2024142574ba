"""The stop tracker from Python: 10,000 open positions, a batch of prices
through ``StopTracker.on_prices``, against a naive pure-Python loop doing the
same trailing-stop work. n counts position updates (prices x positions). The
per-tick Rust figure comes from ``cargo bench --bench stops``."""

from __future__ import annotations

from typing import Any

import numpy as np

from avd.trading import StopPlan, StopTracker, SymbolFilters

POSITIONS = 10_000
PRICES = 200
NAIVE_PRICES = 10
FILTERS = SymbolFilters("0.01", "0.00001")


def _path() -> np.ndarray:
    # A bounded walk around 64,000.00 in ticks, seeded: it closes nothing.
    rng = np.random.default_rng(7)
    steps = rng.integers(-5_000, 5_001, PRICES)
    return np.clip(6_400_000 + np.cumsum(steps), 6_200_000, 6_600_000).astype(np.int64)


def _book() -> StopTracker:
    t = StopTracker()
    t.add_symbol("BTCUSDT", FILTERS)
    plan = StopPlan(trail_pct=20, breakeven_after_r=5, take_profits=[(3, "0.5")])
    for i in range(POSITIONS):
        entry = 6_300_000 + 20 * i
        t.add_position(
            i,
            "BTCUSDT",
            "LONG",
            FILTERS.from_ticks(entry),
            FILTERS.from_ticks(entry - 1_000_000),
            "0.01",
            plan=plan,
        )
    return t


def _naive(prices: list[int]) -> int:
    """Trailing 20% stops on plain dicts, one Python loop per position."""
    book = [{"stop": 5_300_000 + 20 * i, "peak": 6_300_000 + 20 * i} for i in range(POSITIONS)]
    closed = 0
    for p in prices:
        for pos in book:
            if p <= pos["stop"]:
                closed += 1
                continue
            if p > pos["peak"]:
                pos["peak"] = p
                trail = p - p * 20 // 100
                if trail > pos["stop"]:
                    pos["stop"] = trail
    return closed


def test_stop_tracker_on_prices_vs_naive_python(side_by_side: Any) -> None:
    prices = _path()
    ts = np.arange(PRICES, dtype=np.int64)
    tracker = _book()

    def ours() -> object:
        return tracker.on_prices("BTCUSDT", prices, ts)

    cut = prices[:NAIVE_PRICES].tolist()
    side_by_side(
        "stops on_prices 10k pos",
        ours,
        lambda: _naive(cut),
        f"naive Python (from {NAIVE_PRICES} prices, scaled)",
        PRICES * POSITIONS,
        repeat=1,
        peer_scale=PRICES / NAIVE_PRICES,
    )
    assert len(tracker) == POSITIONS
