"""Each pattern detector on hand-built candle sequences whose pattern is
known by construction, run through the whole engine."""

from __future__ import annotations

import numpy as np

from avd.engine import BatchResult, MarketEngine

MINUTE = 60_000


def candles_from_closes(
    closes: np.ndarray, volumes: np.ndarray, spread: float = 0.05
) -> dict[str, np.ndarray]:
    """OHLCV bars: open = previous close, high/low a fixed spread beyond the body."""
    closes = np.asarray(closes, dtype=np.float64)
    opens = np.concatenate([[closes[0]], closes[:-1]])
    return {
        "open_time": np.arange(len(closes), dtype=np.int64) * MINUTE,
        "open": opens,
        "high": np.maximum(opens, closes) + spread,
        "low": np.minimum(opens, closes) - spread,
        "close": closes,
        "volume": np.asarray(volumes, dtype=np.float64),
    }


def run(bars: dict[str, np.ndarray]) -> BatchResult:
    engine = MarketEngine()
    return engine.on_klines("TESTUSDT", "1m", **bars)


def pattern_at(r: BatchResult, i: int) -> tuple[str, int]:
    return r.PATTERNS[int(r.pattern[i])], int(r.direction[i])


def choppy(n: int, rng: np.random.Generator, level: float = 100.0, amp: float = 0.5) -> np.ndarray:
    """Mean-reverting noise around a level: no direction by construction."""
    x = np.empty(n)
    v = 0.0
    for i in range(n):
        v = -0.6 * v + rng.normal(0.0, amp)
        x[i] = level + v
    return x


def test_a_close_above_the_range_on_a_volume_spike_is_a_long_breakout() -> None:
    rng = np.random.default_rng(7)
    closes = choppy(300, rng)
    volumes = rng.uniform(90, 110, 300)
    closes = np.append(closes, closes[-120:].max() + 3.0)
    volumes = np.append(volumes, 1_000.0)
    r = run(candles_from_closes(closes, volumes))
    assert pattern_at(r, -1) == ("breakout", 1)
    assert r.components["breakout"][-1] > 50
    assert r.components["volume"][-1] == 100.0


def test_a_close_below_the_range_on_a_volume_spike_is_a_short_breakout() -> None:
    rng = np.random.default_rng(8)
    closes = choppy(300, rng)
    volumes = rng.uniform(90, 110, 300)
    closes = np.append(closes, closes[-120:].min() - 3.0)
    volumes = np.append(volumes, 1_000.0)
    r = run(candles_from_closes(closes, volumes))
    assert pattern_at(r, -1) == ("breakout", -1)


def test_the_same_close_on_ordinary_volume_is_not_a_breakout() -> None:
    rng = np.random.default_rng(7)
    closes = choppy(300, rng)
    volumes = rng.uniform(90, 110, 300)
    closes = np.append(closes, closes[-120:].max() + 3.0)
    volumes = np.append(volumes, 100.0)
    r = run(candles_from_closes(closes, volumes))
    assert pattern_at(r, -1)[0] != "breakout"


def test_a_steady_climb_is_an_uptrend_and_a_steady_fall_a_downtrend() -> None:
    rng = np.random.default_rng(1)
    n = 300
    up = 100.0 + 0.2 * np.arange(n) + rng.normal(0, 0.05, n)
    r = run(candles_from_closes(up, np.full(n, 100.0)))
    assert pattern_at(r, -1) == ("trend", 1)
    assert r.components["trend"][-1] > 50
    down = 200.0 - 0.2 * np.arange(n) + rng.normal(0, 0.05, n)
    r = run(candles_from_closes(down, np.full(n, 100.0)))
    assert pattern_at(r, -1) == ("trend", -1)


def test_directionless_chop_is_a_range() -> None:
    rng = np.random.default_rng(3)
    n = 400
    closes = choppy(n, rng, amp=0.3)
    r = run(candles_from_closes(closes, rng.uniform(90, 110, n), spread=0.2))
    # ranges are the commonest reading once warm, and never long or short
    patterns = [pattern_at(r, i) for i in range(200, n)]
    ranges = [p for p in patterns if p[0] == "range"]
    assert len(ranges) > len(patterns) / 2
    assert all(d == 0 for _, d in ranges)
    assert sum(p[0] == "trend" for p in patterns) < 0.05 * len(patterns)


def _contracting(
    rng: np.random.Generator, up_volume: float, down_volume: float
) -> dict[str, np.ndarray]:
    """A range whose swings shrink to a tenth (a squeeze) while volume leans one way."""
    n = 300
    amp = np.concatenate([np.full(200, 1.0), np.linspace(1.0, 0.1, 100)])
    closes = 100.0 + amp * np.sin(np.arange(n) * 2 * np.pi / 10)
    rising = np.diff(closes, prepend=closes[0]) > 0
    volumes = np.where(rising, up_volume, down_volume) * rng.uniform(0.98, 1.02, n)
    return candles_from_closes(closes, volumes, spread=0.01)


def test_a_squeeze_in_a_range_with_buying_volume_is_accumulation() -> None:
    r = run(_contracting(np.random.default_rng(4), up_volume=150.0, down_volume=50.0))
    assert pattern_at(r, -1) == ("accumulation", 1)
    assert r.components["volatility"][-1] > 90


def test_a_squeeze_in_a_range_with_selling_volume_is_distribution() -> None:
    r = run(_contracting(np.random.default_rng(5), up_volume=50.0, down_volume=150.0))
    assert pattern_at(r, -1) == ("distribution", -1)


def test_nothing_is_scored_during_warm_up() -> None:
    rng = np.random.default_rng(9)
    r = run(candles_from_closes(choppy(40, rng), np.full(40, 100.0)))
    assert len(r) == 40
    assert np.isnan(r.score).all()
    assert not r.signals
