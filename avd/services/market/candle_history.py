"""Closed-candle history: what the collector stores and warms up from.

It is the seeds' PriceAndVolume storage.

:class:`CandleHistory` is the interface; :class:`MemoryCandleHistory` keeps
them in memory (tests, replays). The SQL implementation lives in
``avd.store`` once persistence lands.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from avd.domain.events import KlineReceived
from avd.history import Candles, candles_from_klines

log = logging.getLogger(__name__)


class CandleHistory(Protocol):
    """Closed-candle storage per (symbol, interval)."""

    async def tail(self, symbol: str, interval: str, limit: int) -> Candles | None:
        """The newest ``limit`` closed candles, oldest first (None if none)."""
        ...

    async def append(self, klines: list[KlineReceived]) -> None:
        """Store closed candles (duplicates by open time are ignored)."""
        ...


class MemoryCandleHistory:
    """In-memory :class:`CandleHistory`."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict[int, KlineReceived]] = defaultdict(dict)

    async def tail(self, symbol: str, interval: str, limit: int) -> Candles | None:
        """The newest ``limit`` closed candles, oldest first (None if none)."""
        rows = self._rows.get((symbol, interval))
        if not rows:
            return None
        keys = sorted(rows)[-limit:]
        return candles_from_klines(symbol, interval, [rows[k] for k in keys])

    async def append(self, klines: list[KlineReceived]) -> None:
        """Store closed candles (duplicates by open time are ignored)."""
        for k in klines:
            if k.closed:
                self._rows[(k.symbol, k.interval)].setdefault(k.open_time, k)

    def open_times(self, symbol: str, interval: str) -> list[int]:
        """Every stored open time of a stream, sorted."""
        return sorted(self._rows.get((symbol, interval), {}))


class WriteBehindHistory:
    """A :class:`CandleHistory` that stores in the background, in batches.

    The collector must not wait for a database write between two klines: a
    minute's worth of closed candles (one per symbol) arrives at once.
    :meth:`append` only queues; a background task writes batches to the
    wrapped history. :meth:`tail` writes what is pending first, so reads
    always see every candle appended before them.
    """

    def __init__(self, inner: CandleHistory, *, max_batch: int = 1000) -> None:
        self.inner = inner
        self.max_batch = max_batch
        self._pending: list[KlineReceived] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        """Start the background writer (inside the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="candle-history-writer")

    async def stop(self) -> None:
        """Write what is pending and stop the writer."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            # a batch it was writing stays queued (see flush): written below
            await asyncio.wait([task])
        await self.flush()

    async def flush(self) -> None:
        """Write every pending candle now.

        A batch leaves the queue only once written: a write interrupted
        (the writer cancelled at shutdown, a database error) is written again
        by the next flush; storing a candle twice is harmless.
        """
        async with self._lock:
            while self._pending:
                batch = self._pending[: self.max_batch]
                await self.inner.append(batch)
                # appends only add at the end; the front is this batch
                del self._pending[: len(batch)]
                self.batches += 1

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("writing candles failed; they stay pending and are retried")
                await asyncio.sleep(1.0)
                self._wake.set()

    async def append(self, klines: list[KlineReceived]) -> None:
        """Queue closed candles for writing (returns at once)."""
        self._pending.extend(k for k in klines if k.closed)
        self._wake.set()

    async def tail(self, symbol: str, interval: str, limit: int) -> Candles | None:
        """The newest ``limit`` closed candles, pending ones included."""
        await self.flush()
        return await self.inner.tail(symbol, interval, limit)
