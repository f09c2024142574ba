"""What the market data collector is told and what it knows.

:class:`CollectorSettings` (the symbols, intervals and connection limits),
:class:`StreamState` (the last closed candle and the counters of one
``(symbol, interval)`` stream) and :class:`ConnectionHealth` (one websocket
connection's health, for ``GET /health``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from avd import _core


@dataclass
class StreamState:
    """What the collector knows of one (symbol, interval) stream."""

    symbol: str
    interval: str
    last_closed: int | None = None
    published_closed: int = 0
    duplicates: int = 0
    backfilled: int = 0
    gaps: int = 0

    @property
    def name(self) -> str:
        """The stream name (``btcusdt@kline_1m``)."""
        return f"{self.symbol.lower()}@kline_{self.interval}"

    def expected_next(self) -> int | None:
        """Open time the next closed candle must have (None before warm-up)."""
        if self.last_closed is None:
            return None
        return _core.next_open_time(self.interval, self.last_closed)


@dataclass
class ConnectionHealth:
    """One websocket connection's health, for ``GET /health``."""

    streams: list[str]
    connected: bool = False
    connects: int = 0
    reconnects: int = 0
    last_message_at: float | None = None
    last_event_time: int | None = None
    lag_ms: float | None = None
    errors: list[str] = field(default_factory=list)
