"""The candle ring buffer against a plain-Python model of Binance's kline
semantics (hypothesis generates the kline sequences)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avd._core import CandleBuffer

MINUTE = 60_000


class Model:
    """Every closed candle ever accepted, in a list; no ring, no cleverness."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.closed: list[tuple[int, float]] = []
        self.forming: tuple[int, float] | None = None
        self.counts = {"duplicates": 0, "stale": 0, "gaps": 0, "missing": 0}

    def push(self, slot: int, close: float, closed: bool, allow_gap: bool) -> str:
        t = slot * MINUTE
        last = self.closed[-1][0] if self.closed else None
        if not closed:
            if (last is not None and t <= last) or (self.forming and t < self.forming[0]):
                self.counts["stale"] += 1
                return "stale"
            self.forming = (t, close)
            return "forming_updated"
        if last is not None and t == last:
            self.counts["duplicates"] += 1
            return "duplicate"
        if last is not None and t < last:
            self.counts["stale"] += 1
            return "stale"
        outcome = "appended"
        if last is not None and t > last + MINUTE:
            missing = (t - last) // MINUTE - 1
            self.counts["gaps"] += 1
            self.counts["missing"] += missing
            if not allow_gap:
                return "gap_held"
            outcome = "appended_after_gap"
        if self.forming and self.forming[0] <= t:
            self.forming = None
        self.closed.append((t, close))
        return outcome


klines = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60),  # minute slot
        st.floats(min_value=1.0, max_value=1e6, allow_nan=False),
        st.booleans(),  # closed
        st.booleans(),  # allow_gap
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(min_value=1, max_value=20), seq=klines)
def test_buffer_matches_the_model(capacity: int, seq: list[tuple[int, float, bool, bool]]) -> None:
    buf = CandleBuffer("1m", capacity)
    model = Model(capacity)
    for slot, close, closed, allow_gap in seq:
        got = buf.push(
            slot * MINUTE, close, close, close, close, 1.0, closed=closed, allow_gap=allow_gap
        )
        assert got == model.push(slot, close, closed, allow_gap)
    kept = model.closed[-capacity:]
    assert len(buf) == len(kept)
    assert buf.open_times().tolist() == [t for t, _ in kept]
    assert buf.column("close").tolist() == [c for _, c in kept]
    assert buf.last_open_time == (kept[-1][0] if kept else None)
    forming = buf.forming
    assert ((forming[0], forming[4]) if forming else None) == model.forming
    stats = buf.stats
    for key, value in model.counts.items():
        assert stats[key] == value, key
    assert stats["appended"] == len(model.closed)


@settings(max_examples=100, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=50),
    n=st.integers(min_value=0, max_value=200),
)
def test_an_in_order_stream_keeps_exactly_the_newest_candles(capacity: int, n: int) -> None:
    buf = CandleBuffer("1m", capacity)
    for i in range(n):
        assert buf.push(i * MINUTE, i + 1.0, i + 2.0, i + 0.5, i + 1.5, 1.0) == "appended"
    assert buf.open_times().tolist() == [i * MINUTE for i in range(max(0, n - capacity), n)]
    assert buf.column("high").tolist() == [i + 2.0 for i in range(max(0, n - capacity), n)]


def test_bad_construction_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="capacity"):
        CandleBuffer("1m", 0)
    with pytest.raises(ValueError, match="unknown interval"):
        CandleBuffer("7m", 10)
    with pytest.raises(ValueError, match="no column"):
        CandleBuffer("1m", 10).column("nope")


def test_the_next_expected_open_time_drives_backfill() -> None:
    buf = CandleBuffer("1h", 10)
    assert buf.next_open_time is None
    buf.push(0, 1, 1, 1, 1, 1)
    assert buf.next_open_time == 3_600_000
    assert buf.push(3 * 3_600_000, 1, 1, 1, 1, 1, allow_gap=False) == "gap_held"
    assert len(buf) == 1
