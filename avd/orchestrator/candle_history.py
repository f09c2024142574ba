"""Closed-candle history: what the collector stores and warms up from.

It is the seeds' PriceAndVolume storage.

:class:`CandleHistory` is the interface; :class:`MemoryCandleHistory` keeps
them in memory (tests, replays). The SQL implementation lives in
``avd.store`` once persistence lands.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

import numpy as np

from avd.history import Candles
from avd.orchestrator.events import KlineReceived


class CandleHistory(Protocol):
    """Closed-candle storage per (symbol, interval)."""

    async def tail(self, symbol: str, interval: str, limit: int) -> Candles | None:
        """The newest ``limit`` closed candles, oldest first (None if none)."""
        ...

    async def append(self, klines: list[KlineReceived]) -> None:
        """Store closed candles (duplicates by open time are ignored)."""
        ...


def candles_from_klines(symbol: str, interval: str, klines: list[KlineReceived]) -> Candles:
    """Columns from a list of closed klines."""

    def col(name: str) -> np.ndarray:
        return np.array([getattr(k, name) for k in klines], dtype=np.float64)

    return Candles(
        symbol,
        interval,
        np.array([k.open_time for k in klines], dtype=np.int64),
        col("open"),
        col("high"),
        col("low"),
        col("close"),
        col("volume"),
        col("quote_volume"),
        col("trades"),
        col("taker_buy_base"),
    )


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
