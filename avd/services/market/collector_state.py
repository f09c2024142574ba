"""What the market data collector is told and what it knows.

:class:`CollectorSettings` (the symbols, intervals and connection limits),
:class:`StreamState` (the last closed candle and the counters of one
``(symbol, interval)`` stream) and :class:`ConnectionHealth` (one websocket
connection's health, for ``GET /health``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field, field_validator

from avd import _core


class CollectorSettings(BaseModel):
    """What to collect and how to keep the connections healthy."""

    model_config = {"extra": "forbid", "frozen": True}

    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT"], min_length=1)
    intervals: list[str] = Field(default_factory=lambda: ["1m"], min_length=1)
    #: closed candles to warm each stream up with
    warmup_bars: int = Field(500, ge=1, le=5000)
    #: a connection silent this long is reopened
    silence_timeout_s: float = Field(30.0, gt=0)
    #: connections are renewed this often (Binance cuts at 24 h)
    renew_after_s: float = Field(23.5 * 3600, gt=0)
    #: Binance allows 1024 per connection; fewer keeps the stream URL short
    max_streams_per_connection: int = Field(200, ge=1, le=1024)
    #: python-binance's per-socket queue (100 by default, which overflows)
    socket_queue_size: int = Field(100_000, ge=100)
    rest_weight_per_minute: int = Field(6000, ge=1)
    reconnect_delay_s: float = Field(1.0, ge=0)

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not (s.isalnum() and s.isupper())]
        if bad:
            raise ValueError(f"not Binance symbols: {bad}")
        return v

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: list[str]) -> list[str]:
        for i in v:
            _core.interval_ms(i)  # raises a clear error for an unknown interval
        return v


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
