from __future__ import annotations

from decimal import Decimal as Dec

import numpy as np
import pytest

from avd.exceptions import InvalidParameterError
from avd.trading import (
    PositionClosed,
    PositionReduced,
    StopEvent,
    StopMoved,
    StopPlan,
    StopTracker,
    SymbolFilters,
)

SYM = "BTCUSDT"


def tracker(btc: SymbolFilters) -> StopTracker:
    t = StopTracker()
    t.add_symbol(SYM, btc)
    return t


def walk(t: StopTracker, path: list[tuple[int, str]]) -> list[StopEvent]:
    events: list[StopEvent] = []
    for ts, price in path:
        events += t.on_price(SYM, Dec(price), ts)
    return events


def brief(events: list[StopEvent]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, StopMoved):
            out.append(("adj", e.old_stop, e.new_stop, e.reason, e.ts))
        elif isinstance(e, PositionReduced):
            out.append(("part", e.level, e.qty, e.price, e.ts))
        else:
            assert isinstance(e, PositionClosed)
            out.append(("closed", e.reason, e.price, e.qty, e.ts))
    return out


def test_trailing_percent_over_a_price_path(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(1, SYM, "LONG", Dec("100"), Dec("90"), Dec("1"), plan=StopPlan(trail_pct="5"))
    events = walk(t, [(1, "100"), (2, "104"), (3, "102"), (4, "106.10"), (5, "101"), (6, "100.80")])
    assert brief(events) == [
        ("adj", Dec("90"), Dec("95"), "TrailingPercent", 1),  # 100 - 5
        ("adj", Dec("95"), Dec("98.80"), "TrailingPercent", 2),  # 104 - 5.20
        # 102: below the peak, no move
        ("adj", Dec("98.80"), Dec("100.80"), "TrailingPercent", 4),  # 106.10 - 5.305 -> 5.30
        ("closed", "TrailingStop", Dec("100.80"), Dec("1"), 6),
    ]
    assert len(t) == 0


def test_chandelier_with_atr_in_price_units(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(7, SYM, "LONG", "100", "90", "0.1", plan=StopPlan(chandelier_k=3))
    events: list[StopEvent] = []
    for ts, price, atr in [(1, "100", 1.0), (2, "102", None), (3, "102", 0.5), (4, "103", 2.0)]:
        events += t.on_price(SYM, price, ts, atr=atr)
    events += t.on_price(SYM, "100.50", 5)
    assert brief(events) == [
        ("adj", Dec("90"), Dec("97"), "Chandelier", 1),  # 100 - 3 x 1
        ("adj", Dec("97"), Dec("99"), "Chandelier", 2),  # 102 - 3 x 1
        ("adj", Dec("99"), Dec("100.50"), "Chandelier", 3),  # 102 - 3 x 0.5
        # 103 - 3 x 2 = 97 < 100.50: never loosens
        ("closed", "TrailingStop", Dec("100.50"), Dec("0.1"), 5),
    ]


def test_break_even_after_one_r(btc: SymbolFilters) -> None:
    t = tracker(btc)
    plan = StopPlan(breakeven_after_r=1)
    t.add_position(1, SYM, "LONG", "100", "98", "0.5", plan=plan)  # R = 2
    events = walk(t, [(1, "101"), (2, "101.99"), (3, "102"), (4, "100.50"), (5, "100")])
    assert brief(events) == [
        ("adj", Dec("98"), Dec("100"), "BreakEven", 3),
        ("closed", "BreakEvenStop", Dec("100"), Dec("0.5"), 5),
    ]


def test_partial_exits_at_one_and_two_r_with_the_rest_trailing(btc: SymbolFilters) -> None:
    plan = StopPlan(
        take_profits=[(1, "0.5"), (2, "0.25")],
        breakeven_after_r=1,
        trail_pct=2,
        trail_after_r=2,
    )
    t = tracker(btc)
    t.add_position(3, SYM, "LONG", "100", "98", "1", plan=plan)  # R = 2
    events = walk(t, [(1, "102"), (2, "104.50"), (3, "106"), (4, "103.80")])
    assert brief(events) == [
        ("part", 0, Dec("0.5"), Dec("102"), 1),  # half at 1R = 102
        ("adj", Dec("98"), Dec("100"), "BreakEven", 1),
        ("part", 1, Dec("0.25"), Dec("104.50"), 2),  # a quarter at 2R (104) by a tick at 104.50
        ("adj", Dec("100"), Dec("102.41"), "TrailingPercent", 2),  # 104.50 - 2.09
        ("adj", Dec("102.41"), Dec("103.88"), "TrailingPercent", 3),  # 106 - 2.12
        ("closed", "TrailingStop", Dec("103.80"), Dec("0.25"), 4),
    ]


def test_time_stops(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(
        1, SYM, "LONG", "100", "90", "1", plan=StopPlan(time_stop_ms=60_000), opened_at=1_000
    )
    assert t.on_price(SYM, "100.10", 60_999) == []
    assert brief(t.on_price(SYM, "100.20", 61_000)) == [
        ("closed", "TimeStop", Dec("100.20"), Dec("1"), 61_000)
    ]
    t.add_position(2, SYM, "LONG", "100", "90", "1", plan=StopPlan(time_stop_bars=2))
    assert t.on_candle(SYM, 0, 59_999, "100", "101", "99.50", "100.50") == []
    events = t.on_candle(SYM, 60_000, 119_999, "100.50", "101", "100", "100.70")
    assert brief(events) == [("closed", "TimeStop", Dec("100.70"), Dec("1"), 119_999)]


def test_short_is_mirrored(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(4, SYM, "SHORT", "100", "110", "2", plan=StopPlan(trail_pct=5))
    events = walk(t, [(1, "100"), (2, "96"), (3, "98"), (4, "93.90"), (5, "98.59")])
    assert brief(events) == [
        ("adj", Dec("110"), Dec("105"), "TrailingPercent", 1),
        ("adj", Dec("105"), Dec("100.80"), "TrailingPercent", 2),
        ("adj", Dec("100.80"), Dec("98.59"), "TrailingPercent", 4),  # 93.90 + 4.695 -> 4.69
        ("closed", "TrailingStop", Dec("98.59"), Dec("2"), 5),
    ]


def test_candle_exits_at_the_stop_it_crossed(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(1, SYM, "LONG", "100", "99", "1")
    # Bullish: 100 -> 98.50 (through 99) -> 101 -> 100.50: out at 99.
    events = t.on_candle(SYM, 0, 59_999, "100", "101", "98.50", "100.50")
    assert brief(events) == [("closed", "StopLoss", Dec("99"), Dec("1"), 19_999)]


def test_batch_of_numpy_prices_matches_one_by_one(btc: SymbolFilters) -> None:
    plan = StopPlan(trail_pct=1)
    prices = ["100", "101", "103", "101.50", "101.90", "104", "102.90"]
    one = tracker(btc)
    one.add_position(1, SYM, "LONG", "100", "90", "1", plan=plan)
    expected = brief(walk(one, list(enumerate(prices))))
    ts = np.arange(len(prices), dtype=np.int64)
    for arr in (
        np.array([float(p) for p in prices]),
        np.array([btc.to_ticks(p) for p in prices], dtype=np.int64),
    ):
        t = tracker(btc)
        t.add_position(1, SYM, "LONG", "100", "90", "1", plan=plan)
        assert brief(t.on_prices(SYM, arr, ts)) == expected


def test_manual_stop_only_tightens(btc: SymbolFilters) -> None:
    t = tracker(btc)
    t.add_position(1, SYM, "LONG", "100", "90", "1")
    with pytest.raises(InvalidParameterError, match="would not tighten"):
        t.set_stop(1, "89", 1)
    assert brief(t.set_stop(1, "95", 1)) == [("adj", Dec("90"), Dec("95"), "Manual", 1)]
    state = t.get(1)
    assert state is not None and (state.stop, state.stop_kind) == (Dec("95"), "Manual")
    assert brief(t.close(1, "97", 2)) == [("closed", "Manual", Dec("97"), Dec("1"), 2)]
    assert 1 not in t
    with pytest.raises(InvalidParameterError):
        t.add_position(2, SYM, "LONG", "100", "101", "1")  # stop above a long's entry


def test_plan_ratios_accept_decimals_and_floats_at_their_resolution() -> None:
    plan = StopPlan(trail_pct=2.5, chandelier_k=Dec("3"), take_profits=[("1.5", 0.5)])
    assert plan.trail_pct == Dec("2.5")
    assert plan.chandelier_k == Dec("3")
    assert plan.take_profits == [(Dec("1.5"), Dec("0.5"))]
    assert plan == StopPlan(trail_pct="2.5", chandelier_k=3, take_profits=[(Dec("1.5"), "0.5")])
    with pytest.raises(InvalidParameterError, match="decimals"):
        StopPlan(trail_pct="0.00001")  # finer than 1 ppm
    with pytest.raises(InvalidParameterError, match="more than the whole"):
        StopPlan(take_profits=[(1, "0.6"), (2, "0.5")])
    with pytest.raises(InvalidParameterError, match="ascending"):
        StopPlan(take_profits=[(2, "0.5"), (1, "0.25")])
