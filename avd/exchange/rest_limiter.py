"""One weight-aware limiter for every REST call to Binance.

Binance budgets request weight per minute per IP (6000 on spot) and reports
what is used in ``X-MBX-USED-WEIGHT-1M``. It answers 429 (with
``Retry-After``) when the budget is exceeded and 418 (an IP ban, also with
``Retry-After``) when 429s are ignored. python-binance retries nothing, so
every REST call of the platform goes through :meth:`RestLimiter.call`:

* before a call, if the weight used this minute (the larger of our own count
  and the last value Binance reported) plus the call's weight would pass the
  budget times ``safety``, wait for the next minute;
* after a call, take Binance's ``X-MBX-USED-WEIGHT-1M`` as the truth;
* on 429 or 418, wait ``Retry-After`` seconds (or a back-off when absent),
  then retry, up to ``max_retries`` times; during that wait every other call
  waits too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

MINUTE = 60.0


@dataclass
class LimiterStats:
    """What the limiter has done."""

    calls: int = 0
    weight_used: int = 0
    server_weight: int = 0
    waits_for_budget: int = 0
    rate_limited: int = 0
    banned: int = 0
    retries: int = 0


def _status_and_retry_after(exc: BaseException) -> tuple[int, float | None]:
    """HTTP status and Retry-After of a python-binance API error (0 if not one)."""
    status = getattr(exc, "status_code", 0)
    if not isinstance(status, int):
        return 0, None
    response = getattr(exc, "response", None)
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return status, float(raw) if raw is not None else None
    except ValueError:
        return status, None


class RestLimiter:
    """Weight budget, Retry-After and ban handling for Binance REST calls."""

    def __init__(
        self,
        budget_per_minute: int = 6000,
        *,
        safety: float = 0.9,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if budget_per_minute < 1 or not 0 < safety <= 1:
            raise ValueError("the budget must be >= 1 and safety in (0, 1]")
        self.budget = budget_per_minute
        self.safety = safety
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._window = -1
        self._used = 0
        self._blocked_until = 0.0
        self.stats = LimiterStats()

    def _minute(self, now: float) -> int:
        return int(now // MINUTE)

    async def _reserve(self, weight: int) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await self._sleep(self._blocked_until - now)
                    continue
                if self._minute(now) != self._window:
                    self._window = self._minute(now)
                    self._used = 0
                if self._used + weight <= self.budget * self.safety or self._used == 0:
                    self._used += weight
                    return
                self.stats.waits_for_budget += 1
                wait = (self._window + 1) * MINUTE - now + 0.05
                log.info(
                    "REST weight %d/%d used this minute; waiting %.1fs",
                    self._used,
                    self.budget,
                    wait,
                )
                await self._sleep(wait)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Take Binance's own count of the weight used this minute."""
        if not headers:
            return
        raw = headers.get("X-MBX-USED-WEIGHT-1M") or headers.get("x-mbx-used-weight-1m")
        if raw is None:
            return
        try:
            used = int(raw)
        except ValueError:
            return
        self.stats.server_weight = used
        if self._minute(self._clock()) == self._window:
            self._used = max(self._used, used)

    async def call(
        self,
        weight: int,
        fn: Callable[[], Awaitable[T]],
        *,
        headers: Callable[[], Mapping[str, str] | None] | None = None,
        what: str = "request",
    ) -> T:
        """Run ``fn`` within the budget, waiting out 429/418 and retrying.

        ``headers`` returns the last response's headers (python-binance keeps
        them on ``client.response``), to read ``X-MBX-USED-WEIGHT-1M``.
        """
        attempt = 0
        while True:
            await self._reserve(weight)
            self.stats.calls += 1
            self.stats.weight_used += weight
            try:
                result = await fn()
            except Exception as exc:
                status, retry_after = _status_and_retry_after(exc)
                if status not in (429, 418) or attempt >= self.max_retries:
                    raise
                attempt += 1
                self.stats.retries += 1
                if status == 418:
                    self.stats.banned += 1
                else:
                    self.stats.rate_limited += 1
                wait = (
                    retry_after if retry_after is not None else self.backoff_s * 2 ** (attempt - 1)
                )
                self._blocked_until = max(self._blocked_until, self._clock() + wait)
                log.warning(
                    "%s answered %d; waiting %.1fs (Retry-After) before retry %d",
                    what,
                    status,
                    wait,
                    attempt,
                )
                continue
            if headers is not None:
                self.observe(headers())
            return result
