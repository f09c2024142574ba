"""The MarketContext service's core: the engine fed from the hub.

It subscribes to :class:`KlineReceived`, runs each kline through the Rust
:class:`~avd.engine.MarketEngine`, and publishes, for a closed candle,
:class:`CandleEvaluated` then :class:`ContextScoreCalculated` and
:class:`SignalGenerated` (that order is what the trade engine relies on). It keeps what the
REST API and the live stream serve: the latest context per stream, the
recent signals, and per-symbol state.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from avd._core import ContextScore, TradeSignal
from avd.domain.bus import EventBus
from avd.domain.events import (
    CandleEvaluated,
    CandlesLoaded,
    ContextScoreCalculated,
    Event,
    KlineReceived,
    SignalGenerated,
)
from avd.engine import EngineConfig, MarketEngine
from avd.history import Candles
from avd.services.market.candle_history import CandleHistory
from avd.services.market.regimes import RegimeBook, RegimeSettings
from avd.services.market.scanner import Scanner, ScannerSettings

log = logging.getLogger(__name__)


@dataclass
class SymbolActivity:
    """What happened last on a stream (for ``GET /symbols/contexts``)."""

    last_price: float | None = None
    updated_at: float | None = None
    last_action: str | None = None
    last_signal_at: int | None = None


def context_event(ctx: ContextScore, kline_event_time: int) -> ContextScoreCalculated:
    """The hub event of a context score."""
    return ContextScoreCalculated(
        symbol=ctx.symbol,
        interval=ctx.interval,
        score=ctx.score,
        direction=ctx.direction,
        pattern=ctx.pattern,
        components=ctx.components,
        timestamp=ctx.timestamp,
        close=ctx.close,
        kline_event_time=kline_event_time,
    )


def signal_event(s: TradeSignal) -> SignalGenerated:
    """The hub event of a trade signal."""
    return SignalGenerated(
        symbol=s.symbol,
        interval=s.interval,
        side=s.side,
        confidence=s.confidence,
        reason=s.reason,
        generated_at=s.generated_at,
        score=s.score,
        pattern=s.pattern,
        price=s.price,
        strategy=s.strategy,
        rules=",".join(s.rules),
        primary=s.primary,
    )


class MarketContext:
    """Engine + hub wiring + the state the API serves."""

    def __init__(
        self,
        hub: EventBus,
        config: EngineConfig | None = None,
        *,
        keep_signals: int = 1000,
        regimes: RegimeSettings | None = None,
        scanner: ScannerSettings | None = None,
    ) -> None:
        self.hub = hub
        #: the tracked streams ranked by score and market quality (``GET /scanner``)
        self.scanner = Scanner(scanner)
        #: each stream's market regime (information only: the score ignores it)
        self.regimes = RegimeBook(regimes)
        self.engine = MarketEngine(config)
        self.signals: deque[SignalGenerated] = deque(maxlen=keep_signals)
        self.activity: dict[tuple[str, str], SymbolActivity] = {}
        self.klines_processed = 0
        hub.subscribe("market-context", self._on_event, KlineReceived, CandlesLoaded)

    def strategies(self) -> dict[str, Any]:
        """The strategies the engine evaluates: the primary one's name and every name bots pick.

        ``primary`` is ``context``, ``rsi_macd`` or ``mix``; ``names`` starts
        with it, then the engine config's named ``strategies`` in name order.
        """
        cfg = json.loads(self.engine.config.to_json())
        primary = (
            cfg["strategy"] if isinstance(cfg["strategy"], str) else next(iter(cfg["strategy"]))
        )
        return {
            "primary": primary,
            "names": [primary, *sorted(cfg.get("strategies", {}))],
            "config": {"strategy": cfg["strategy"], "strategies": cfg.get("strategies", {})},
        }

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, KlineReceived):
            await self.on_kline(event)
        elif isinstance(event, CandlesLoaded):
            self._load(candles_of(event))

    async def on_kline(self, k: KlineReceived) -> None:
        """Run one kline through the engine and publish what it produced."""
        events = self.engine.on_kline(
            k.symbol,
            k.interval,
            k.open_time,
            k.open,
            k.high,
            k.low,
            k.close,
            k.volume,
            closed=k.closed,
            quote_volume=k.quote_volume,
            trades=k.trades,
            taker_buy_base=k.taker_buy_base,
        )
        self.klines_processed += 1
        act = self.activity.setdefault((k.symbol, k.interval), SymbolActivity())
        act.last_price = k.close
        act.updated_at = time.time()
        if k.closed:
            self.regimes.on_close((k.symbol, k.interval), k.close)
            await self.hub.publish(CandleEvaluated(kline=k))
        for e in events:
            if isinstance(e, ContextScore):
                await self.hub.publish(context_event(e, k.event_time))
            else:
                sig = signal_event(e)
                self.signals.append(sig)
                act.last_action = e.side
                act.last_signal_at = e.generated_at
                await self.hub.publish(sig)

    async def on_history(self, candles: Candles) -> None:
        """Warm a stream up from history in one batch (no event per candle).

        The batch goes through the hub as one :class:`CandlesLoaded` event, so
        it keeps its place among the klines and is recorded for replays.
        """
        await self.hub.publish(loaded_event(candles))

    def _load(self, candles: Candles) -> None:
        result = self.engine.on_candles(candles)
        act = self.activity.setdefault((candles.symbol, candles.interval), SymbolActivity())
        self.regimes.load((candles.symbol, candles.interval), candles.close)
        if len(candles):
            act.last_price = float(candles.close[-1])
            act.updated_at = time.time()
        log.info(
            "engine warmed %s %s with %d candles", candles.symbol, candles.interval, len(result)
        )

    async def recent(
        self, history: CandleHistory | None, symbol: str, interval: str, limit: int
    ) -> dict[str, Any]:
        """A stream's newest ``limit`` closed candles, as columns.

        The stored candles, else the engine's buffer (``open_time``, ``open``,
        ``high``, ``low``, ``close``, volumes...).
        """
        stored = None if history is None else await history.tail(symbol, interval, limit)
        cols = self.engine.candles(symbol, interval) if stored is None else vars(stored)
        return {k: v[-limit:] for k, v in cols.items() if not isinstance(v, str)}

    def contexts(self) -> list[dict[str, Any]]:
        """Every tracked stream: latest score, pattern, components, signal state."""
        out = []
        for symbol, interval in self.engine.streams():
            ctx = self.engine.context(symbol, interval)
            state = self.engine.state(symbol, interval)
            act = self.activity.get((symbol, interval), SymbolActivity())
            out.append(
                {
                    "symbol": symbol,
                    "interval": interval,
                    "score": None if ctx is None else ctx.score,
                    "direction": None if ctx is None else ctx.direction,
                    "pattern": None if ctx is None else ctx.pattern,
                    "components": None if ctx is None else ctx.components,
                    "timestamp": None if ctx is None else ctx.timestamp,
                    "last_action": act.last_action,
                    "last_signal_at": act.last_signal_at,
                    "signal_state": {
                        "long_armed": state["long_armed"],
                        "short_armed": state["short_armed"],
                        "cooldown_left": state["cooldown_left"],
                        "signals": state["signals"],
                    },
                    "last_price": act.last_price
                    if act.last_price is not None
                    else state["last_price"],
                    "updated_at": act.updated_at,
                    "regime": self.regimes.label((symbol, interval)),
                }
            )
        return out


def loaded_event(c: Candles) -> CandlesLoaded:
    """The hub event of a warm-up batch."""
    return CandlesLoaded(
        symbol=c.symbol,
        interval=c.interval,
        open_time=c.open_time.tolist(),
        open=c.open.tolist(),
        high=c.high.tolist(),
        low=c.low.tolist(),
        close=c.close.tolist(),
        volume=c.volume.tolist(),
    )


def candles_of(e: CandlesLoaded) -> Candles:
    """The candle columns of a warm-up batch (optional fields unknown)."""
    n = len(e.open_time)
    nan = np.full(n, np.nan)
    return Candles(
        e.symbol,
        e.interval,
        np.array(e.open_time, dtype=np.int64),
        np.array(e.open, dtype=np.float64),
        np.array(e.high, dtype=np.float64),
        np.array(e.low, dtype=np.float64),
        np.array(e.close, dtype=np.float64),
        np.array(e.volume, dtype=np.float64),
        nan,
        nan.copy(),
        nan.copy(),
    )
