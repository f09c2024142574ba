"""The domain events: one frozen dataclass per event, in one place.

Every event carries ``created_ns`` (``time.monotonic_ns()`` when it was
made) so the hub can report how far behind each subscriber is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _now_ns() -> int:
    return time.monotonic_ns()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every domain event."""

    created_ns: int = field(default_factory=_now_ns, compare=False)

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        """Events with the same non-None key may replace each other while queued."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the event's type name (for recording and streams)."""
        d: dict[str, Any] = {"type": type(self).__name__}
        for name in self.__dataclass_fields__:
            if name != "created_ns":
                value = getattr(self, name)
                d[name] = value.to_dict() if isinstance(value, Event) else value
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class KlineReceived(Event):
    """A kline from the exchange: an in-progress update or the closed candle."""

    symbol: str
    interval: str
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool
    quote_volume: float = float("nan")
    trades: float = float("nan")
    taker_buy_base: float = float("nan")
    #: the exchange's event time (``E``, ms): the simulator's send time
    event_time: int = 0

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        """In-progress updates of one stream merge; closed candles never do."""
        # only in-progress updates may be merged; a closed candle never is
        return None if self.closed else ("kline", self.symbol, self.interval)


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleEvaluated(Event):
    """The MarketContext ran a closed candle through the engine.

    Published before that candle's :class:`ContextScoreCalculated` and
    :class:`SignalGenerated`, by the one task that produces them: a
    subscriber taking both this and the signals on one queue sees, per
    stream, candle ``i``, then ``i``'s signal, then candle ``i + 1``. The
    trade engine trades on that order (fills and stops of a candle, then
    its signal), which is the backtester's.
    """

    kline: KlineReceived


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextScoreCalculated(Event):
    """The engine scored a symbol after a closed candle."""

    symbol: str
    interval: str
    score: float
    direction: str
    pattern: str
    components: dict[str, float]
    timestamp: int
    close: float
    #: event time of the kline that produced it (ms), for end-to-end latency
    kline_event_time: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalGenerated(Event):
    """The engine fired a trade signal."""

    symbol: str
    interval: str
    side: str
    confidence: float
    reason: str
    generated_at: int
    score: float
    pattern: str
    price: float
    #: the strategy that scored it: a named strategy of the engine config's
    #: ``strategies``, else the primary one's ``context``, ``rsi_macd`` or ``mix``
    strategy: str = "context"
    #: the RSI/MACD rules that fired, comma-separated (empty for the context strategy)
    rules: str = ""
    #: fired by the engine's primary strategy (what bots without a ``strategy`` trade)
    primary: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CandlesLoaded(Event):
    """A batch of closed candles given to the engine at once (warm-up).

    Recorded so that a replay warms the engine up exactly as the session did.
    Columns are lists, oldest first.
    """

    symbol: str
    interval: str
    open_time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


@dataclass(frozen=True, slots=True, kw_only=True)
class GapDetected(Event):
    """Closed candles are missing for a stream and must be backfilled."""

    symbol: str
    interval: str
    first_missing: int
    missing: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStatusChanged(Event):
    """A market data connection changed state (connected, reconnecting, ...)."""

    stream: str
    status: str
    detail: str = ""


# -- the trade engine's events (money as decimal strings, so they record as JSON) --


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePlaced(Event):
    """An entry order filled (or was accepted) and a position is open."""

    trade_id: int
    client_id: int
    symbol: str
    side: str
    quantity: str
    entry_price: str
    stop_loss: str
    mode: str
    client_order_id: str
    origin: str = "manual"


@dataclass(frozen=True, slots=True, kw_only=True)
class SLAdjusted(Event):
    """The tracked stop of a position moved (trailing, break-even, manual)."""

    trade_id: int
    client_id: int
    symbol: str
    old_stop: str
    new_stop: str
    reason: str
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialExitTaken(Event):
    """Part of a position was taken off at a take-profit level."""

    trade_id: int
    client_id: int
    symbol: str
    level: int
    quantity: str
    price: str
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeClosed(Event):
    """A position closed; ``reason``: stop, trailing, take_profit, time, manual, kill_switch."""

    trade_id: int
    client_id: int
    symbol: str
    side: str
    reason: str
    quantity: str
    exit_price: str
    pnl: str
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawdownLimitReached(Event):
    """Equity fell from its peak by more than the limit: trading is blocked."""

    client_id: int
    equity: str
    peak: str
    drawdown_percent: str
    limit_percent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    """Risk, funds, filters or the exchange refused an order."""

    client_id: int
    symbol: str
    side: str
    rule: str
    detail: str
    origin: str = "manual"


# -- the Client service's events --


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChanged(Event):
    """A client's trading changed: ``parameters`` saved, ``blocked`` or ``unblocked``.

    The trade engine forgets its cached list of bots at once (otherwise it
    is read again after ``bots_cache_s``).
    """

    client_id: int
    change: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFlowClosed(Event):
    """A candle of a symbol whose order book and trade flow are kept has closed.

    ``flow`` is the candle's row of ``GET /symbols/{symbol}/flow``: the trade
    flow (buy and sell volume, delta, CVD, imbalance, large trades, VPIN) and
    the book's analytics at the close (mid, spread, microprice, imbalance,
    depth, order-flow imbalance; null while the book is not synced).
    """

    symbol: str
    interval: str
    open_time: int
    flow: dict[str, Any]


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        KlineReceived,
        CandleEvaluated,
        CandlesLoaded,
        ContextScoreCalculated,
        SignalGenerated,
        GapDetected,
        StreamStatusChanged,
        TradePlaced,
        SLAdjusted,
        PartialExitTaken,
        TradeClosed,
        DrawdownLimitReached,
        OrderRejected,
        ClientChanged,
        OrderFlowClosed,
    )
}


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """An event from its :meth:`Event.to_dict` form, as JSON gave it back.

    JSON has no NaN: a float field with a NaN default that came back
    ``null`` is NaN again; a nested event (``CandleEvaluated.kline``) is
    rebuilt too.

    Raises
    ------
    KeyError
        An unknown ``type``.
    TypeError
        Fields that are not the event's.
    """
    fields = dict(d)
    cls = EVENT_TYPES[fields.pop("type")]
    for name, f in cls.__dataclass_fields__.items():
        value = fields.get(name)
        if isinstance(value, Mapping) and "type" in value:
            fields[name] = event_from_dict(value)
        elif name in fields and value is None and isinstance(f.default, float):
            fields[name] = float("nan")
    return cls(**fields)
