"""Request and response bodies of the MarketContext service (symbols, signals, health)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ContextsQuery(BaseModel):
    """Filters and sorting of ``GET /symbols/contexts``."""

    model_config = {"extra": "forbid"}

    min_score: float | None = Field(None, ge=0, le=100)
    max_score: float | None = Field(None, ge=0, le=100)
    pattern: (
        Literal["breakout", "accumulation", "distribution", "trend", "range", "none"] | None
    ) = None
    direction: Literal["long", "short", "neutral"] | None = None
    interval: str | None = None
    symbol: str | None = None
    sort: Literal["score", "-score", "symbol"] = "-score"
    limit: int = Field(1000, ge=1, le=10_000)


class CandlesQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/candles``."""

    model_config = {"extra": "forbid"}

    interval: str = "1m"
    limit: int = Field(100, ge=1, le=5000)


class ScannerQuery(BaseModel):
    """Parameters of ``GET /scanner``."""

    model_config = {"extra": "forbid"}

    interval: str = "1m"
    top: int = Field(20, ge=1, le=1000)


class RegimeQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/regime``."""

    model_config = {"extra": "forbid"}

    interval: str = "1m"


class BookQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/book``."""

    model_config = {"extra": "forbid"}

    #: levels per side (also the levels in ``imbalance``)
    depth: int = Field(20, ge=1, le=5000)


class FlowQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/flow``."""

    model_config = {"extra": "forbid"}

    interval: str = "1m"
    #: closed candles, newest last
    limit: int = Field(60, ge=1, le=5000)


class LevelsQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/levels``."""

    model_config = {"extra": "forbid"}

    interval: str = "1m"
    #: closed candles the levels are computed from (newest last)
    limit: int = Field(1000, ge=50, le=5000)
    method: Literal["classic", "fibonacci", "camarilla", "woodie"] = "classic"
    #: percent of the price within which levels of several kinds meet
    tolerance: float = Field(0.25, gt=0, le=5)


class SignalsQuery(BaseModel):
    """Parameters of ``GET /signals``."""

    model_config = {"extra": "forbid"}

    since: int = Field(0, ge=0, description="only signals generated at or after this time (ms)")
    symbol: str | None = None
    limit: int = Field(500, ge=1, le=10_000)


class ContextRow(BaseModel):
    """One stream's latest context."""

    symbol: str
    interval: str
    score: float | None = Field(None, description="0..100, null while warming up")
    direction: str | None = None
    pattern: str | None = None
    components: dict[str, float] | None = None
    timestamp: int | None = Field(None, description="close time of the scored candle (ms)")
    last_action: str | None = None
    last_signal_at: int | None = None
    signal_state: dict[str, Any]
    last_price: float | None = None
    updated_at: float | None = None
    regime: str | None = Field(
        None, description="the most likely market regime (calm .. volatile), null before a fit"
    )


class ContextsResponse(BaseModel):
    """``GET /symbols/contexts``."""

    contexts: list[ContextRow]
    count: int


class CandleRow(BaseModel):
    """One closed candle."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandlesResponse(BaseModel):
    """``GET /symbols/{symbol}/candles``."""

    symbol: str
    interval: str
    candles: list[CandleRow]


class SignalRow(BaseModel):
    """One trade signal."""

    type: str
    symbol: str
    interval: str
    side: str
    confidence: float
    reason: str
    generated_at: int
    score: float
    pattern: str
    price: float
    strategy: str = Field("context", description="context, rsi_macd or mix")
    rules: str = Field("", description="the RSI/MACD rules that fired, comma-separated")


class SignalsResponse(BaseModel):
    """``GET /signals``."""

    signals: list[SignalRow]


class StrategiesResponse(BaseModel):
    """``GET /strategies``: what a bot's ``strategy`` parameter may name."""

    #: the primary strategy's name (``context``, ``rsi_macd`` or ``mix``): bots without a
    #: ``strategy`` trade its signals
    primary: str
    #: the primary's name, then the engine config's named ``strategies``
    names: list[str]
    #: the engine config's ``strategy`` and ``strategies``
    config: dict[str, Any]


class HealthResponse(BaseModel):
    """``GET /health``."""

    status: str
    klines_processed: int
    streams: dict[str, Any] | None
    hub: dict[str, Any]
    #: the event bus between the processes (``kind``: in-process or redis; ``connected``)
    bus: dict[str, Any] | None = None
