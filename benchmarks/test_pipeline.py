"""The streaming pipeline (buffer, indicators, patterns, score, signal) from
Python through ``on_klines``, against a naive pure-Python loop doing the same
work. The Rust figure comes from ``cargo bench --bench pipeline``."""

from __future__ import annotations

from typing import Any

import numpy as np

from avd.engine import MarketEngine

from .naive_pipeline import run as naive_run

NAIVE_BARS = 20_000


def test_pipeline_on_klines_vs_naive_python(
    million: dict[str, np.ndarray], side_by_side: Any
) -> None:
    def ours() -> object:
        return MarketEngine().on_klines("BTCUSDT", "1m", **million)

    cut = {k: million[k][:NAIVE_BARS].tolist() for k in ("open", "high", "low", "close", "volume")}

    def naive() -> object:
        return naive_run(cut["open"], cut["high"], cut["low"], cut["close"], cut["volume"])

    n = len(million["close"])
    # the naive loop runs on a slice; its time is scaled to the full length
    side_by_side(
        "pipeline on_klines",
        ours,
        naive,
        f"naive Python (from {NAIVE_BARS} bars, scaled)",
        n,
        repeat=1,
        peer_scale=n / NAIVE_BARS,
    )


def test_the_naive_yardstick_does_the_work(million: dict[str, np.ndarray]) -> None:
    # a yardstick that never reached its scoring and signal rule would make
    # the ratio meaningless: on a real month it must fire signals
    cut = {k: million[k][:20_000].tolist() for k in ("open", "high", "low", "close", "volume")}
    assert naive_run(cut["open"], cut["high"], cut["low"], cut["close"], cut["volume"]) > 0
