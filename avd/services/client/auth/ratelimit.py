"""The login rate limit per client address: a sliding window stored in the database.

Stored rather than kept in memory so that the limit holds whichever process
of the Client service an attempt reaches (see :mod:`avd.store.ratelimits`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from avd.store import ratelimits
from avd.store.database import Database

MAX_KEY = 128


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key, across processes.

    Parameters
    ----------
    db
        The database the processes share.
    limit, window
        Hits allowed per window of seconds.
    prefix
        Keeps these keys apart from other limits in the same table.
    clock
        Wall-clock seconds (processes compare times, so not a monotonic clock).
    """

    def __init__(
        self,
        db: Database,
        limit: int,
        window: float,
        *,
        prefix: str = "login",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self._clock = clock
        self._pruned_at = float("-inf")

    async def hit(self, key: str) -> float | None:
        """Record a hit; the seconds to wait if over the limit, else ``None``."""
        now = self._clock()
        async with self.db.write() as s:
            wait = await ratelimits.hit(
                s, f"{self.prefix}:{key}"[:MAX_KEY], self.limit, self.window, now
            )
        if now - self._pruned_at >= self.window:
            # apart from the hit, so the hit's transaction holds one row lock only
            self._pruned_at = now
            async with self.db.write() as s:
                await ratelimits.prune(s, now)
        return wait

    @staticmethod
    def retry_after(wait: float) -> int:
        """The ``Retry-After`` seconds (whole seconds, at least 1)."""
        return max(1, math.ceil(wait))
