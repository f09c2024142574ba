from __future__ import annotations

import asyncio

import pytest

from avd.runtime.timers import PeriodicTimer, next_boundary
from tests.polling import until


def test_next_boundary_lands_on_the_grid_plus_offset() -> None:
    minute = 60_000
    assert next_boundary(0, minute) == 0
    assert next_boundary(1, minute) == minute
    assert next_boundary(61_000, minute, offset_ms=2_000) == 62_000
    assert next_boundary(62_001, minute, offset_ms=2_000) == 122_000
    with pytest.raises(ValueError):
        next_boundary(0, 0)


def test_a_timer_ticks_and_survives_a_failing_callback() -> None:
    async def main() -> tuple[int, int, int]:
        calls = 0

        async def tick() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RuntimeError("once")

        t = PeriodicTimer("t", 0.02, tick)
        t.start()
        # ticks are counted after the callback, the failing one included
        await until(lambda: t.ticks >= 4, "four ticks", timeout=10)
        await t.stop()
        return calls, t.ticks, t.errors

    calls, ticks, errors = asyncio.run(main())
    assert calls >= 4 and ticks == calls and errors == 1


def test_an_aligned_timer_waits_for_the_next_boundary() -> None:
    now = [1000.7]  # seconds
    t = PeriodicTimer(
        "t", 1.0, lambda: asyncio.sleep(0), align=True, offset_s=0.25, clock=lambda: now[0]
    )
    assert t._delay() == pytest.approx(0.55)
    now[0] = 1001.25
    assert t._delay() == pytest.approx(1.0)
