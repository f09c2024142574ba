"""The REST limiter's arithmetic on a simulated clock (the real 429 path
against the simulator is an integration test)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from avd.exchange.rest_limiter import RestLimiter


class Clock:
    def __init__(self, t: float = 60 * 16_667 + 20.0) -> None:  # 20 s into a minute
        self.t = t
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


@dataclass
class Response:
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Shaped like python-binance's BinanceAPIException."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.response = Response({"Retry-After": retry_after} if retry_after else {})


def test_calls_wait_for_the_next_minute_when_the_budget_would_be_passed() -> None:
    clock = Clock()
    lim = RestLimiter(100, safety=1.0, clock=clock.now, sleep=clock.sleep)

    async def main() -> None:
        async def ok() -> str:
            return "ok"

        for _ in range(5):
            await lim.call(20, ok)  # 100 weight: exactly the budget
        assert clock.sleeps == []
        await lim.call(20, ok)  # the sixth must wait for the next minute (40 s away)

    asyncio.run(main())
    assert len(clock.sleeps) == 1 and clock.sleeps[0] == pytest.approx(40.05)
    assert lim.stats.waits_for_budget == 1


def test_binance_reported_weight_counts_more_than_our_estimate() -> None:
    clock = Clock()
    lim = RestLimiter(100, safety=1.0, clock=clock.now, sleep=clock.sleep)

    async def main() -> None:
        async def ok() -> str:
            return "ok"

        await lim.call(1, ok, headers=lambda: {"X-MBX-USED-WEIGHT-1M": "95"})
        await lim.call(10, ok)  # 95 + 10 > 100: wait

    asyncio.run(main())
    assert lim.stats.server_weight == 95
    assert lim.stats.waits_for_budget == 1


def test_429_and_418_are_waited_out_with_retry_after_then_retried() -> None:
    clock = Clock()
    lim = RestLimiter(6000, clock=clock.now, sleep=clock.sleep)
    answers: list[Exception | str] = [ApiError(429, "7"), ApiError(418, "30"), "ok"]

    async def flaky() -> str:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    assert asyncio.run(lim.call(1, flaky)) == "ok"
    assert clock.sleeps == [pytest.approx(7.0), pytest.approx(30.0)]
    assert (lim.stats.rate_limited, lim.stats.banned, lim.stats.retries) == (1, 1, 2)


def test_other_errors_and_exhausted_retries_propagate() -> None:
    clock = Clock()
    lim = RestLimiter(6000, max_retries=2, clock=clock.now, sleep=clock.sleep)

    async def always_429() -> str:
        raise ApiError(429, None)

    with pytest.raises(ApiError):
        asyncio.run(lim.call(1, always_429))
    assert clock.sleeps == [1.0, 2.0]  # back-off without Retry-After

    async def bad_request() -> str:
        raise ApiError(400, None)

    with pytest.raises(ApiError):
        asyncio.run(lim.call(1, bad_request))
