"""Periodic work, optionally aligned to candle boundaries.

The equivalent of .NET's BackgroundService + PeriodicTimer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def next_boundary(now_ms: int, period_ms: int, offset_ms: int = 0) -> int:
    """The first time ``>= now_ms`` of the form ``k * period_ms + offset_ms``."""
    if period_ms <= 0:
        raise ValueError("period_ms must be > 0")
    k = -(-(now_ms - offset_ms) // period_ms)
    return k * period_ms + offset_ms


class PeriodicTimer:
    """Calls ``callback`` every ``period_s`` seconds until stopped.

    With ``align=True`` ticks fall on wall-clock multiples of the period plus
    ``offset_s`` (a 60 s timer with a 2 s offset fires at hh:mm:02, just after
    each 1m candle closes). A slow callback delays the next tick rather than
    stacking calls; a callback that raises is logged and the timer goes on.
    """

    def __init__(
        self,
        name: str,
        period_s: float,
        callback: Callable[[], Awaitable[None]],
        *,
        align: bool = False,
        offset_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be > 0")
        self.name = name
        self.period_s = period_s
        self._callback = callback
        self._align = align
        self._offset_s = offset_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.errors = 0

    def _delay(self) -> float:
        if not self._align:
            return self.period_s
        now_ms = int(self._clock() * 1000)
        target = next_boundary(now_ms + 1, int(self.period_s * 1000), int(self._offset_s * 1000))
        return (target - now_ms) / 1000

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._delay())
            try:
                await self._callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors += 1
                log.exception("timer %r failed; it goes on", self.name)
            self.ticks += 1

    @property
    def running(self) -> bool:
        """Whether it ticks (started and not stopped)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start ticking (inside the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"timer:{self.name}")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
