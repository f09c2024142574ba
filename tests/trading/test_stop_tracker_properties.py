"""Properties of the stop tracker over random plans and price paths."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from avd.trading import (
    PositionClosed,
    PositionReduced,
    StopMoved,
    StopPlan,
    StopTracker,
    SymbolFilters,
)

FILTERS = SymbolFilters("0.01", "0.001", min_qty="0.001")
SYM = "XUSDT"


@st.composite
def plans(draw: st.DrawFn) -> StopPlan:
    levels = draw(st.integers(0, 3))
    rs = sorted(set(draw(st.lists(st.integers(1, 4000), min_size=levels, max_size=levels))))
    # at most three levels of at most a third each: never more than the position
    fractions = [Decimal(draw(st.integers(1, 333))) / 1000 for _ in rs]
    return StopPlan(
        trail_pct=draw(st.none() | st.integers(1, 2000).map(lambda v: Decimal(v) / 100)),
        trail_after_r=Decimal(draw(st.integers(0, 3000))) / 1000,
        chandelier_k=draw(st.none() | st.integers(500, 5000).map(lambda v: Decimal(v) / 1000)),
        breakeven_after_r=draw(st.none() | st.integers(1, 3000).map(lambda v: Decimal(v) / 1000)),
        take_profits=[(Decimal(r) / 1000, f) for r, f in zip(rs, fractions, strict=True)],
        time_stop_ms=draw(st.none() | st.integers(1, 500)),
    )


steps = st.lists(
    st.tuples(st.integers(-300, 300), st.none() | st.integers(1, 500)),
    min_size=1,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(
    plan=plans(),
    short=st.booleans(),
    entry=st.integers(5_000, 20_000),
    risk=st.integers(1, 2_000),
    qty=st.integers(1, 10_000),
    moves=steps,
)
def test_stop_never_loosens_and_quantity_never_goes_negative(
    plan: StopPlan,
    short: bool,
    entry: int,
    risk: int,
    qty: int,
    moves: list[tuple[int, int | None]],
) -> None:
    t = StopTracker()
    t.add_symbol(SYM, FILTERS)
    d = -1 if short else 1
    stop = entry - d * risk
    t.add_position(
        1,
        SYM,
        "SHORT" if short else "LONG",
        FILTERS.from_ticks(entry),
        FILTERS.from_ticks(stop),
        FILTERS.from_steps(qty),
        plan=plan,
    )
    initial = FILTERS.from_steps(qty)
    last_stop = FILTERS.from_ticks(stop)
    sold = Decimal(0)
    price = entry
    for ts, (move, atr_ticks) in enumerate(moves, start=1):
        price = max(1, price + move)
        atr = None if atr_ticks is None else atr_ticks / 100
        for e in t.on_price(SYM, FILTERS.from_ticks(price), ts, atr=atr):
            if isinstance(e, StopMoved):
                # Only ever in the position's favour.
                assert (e.new_stop - e.old_stop) * d > 0
                assert e.old_stop == last_stop
                last_stop = e.new_stop
            elif isinstance(e, PositionReduced):
                assert e.qty > 0
                sold += e.qty
            else:
                assert isinstance(e, PositionClosed)
                assert e.qty >= 0
                sold += e.qty
        state = t.get(1)
        if state is None:
            # Closed: every unit went out exactly once.
            assert sold == initial
            return
        assert state.stop == last_stop
        assert 0 < state.qty <= initial
        assert state.qty + sold == initial
