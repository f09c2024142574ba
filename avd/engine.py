"""The market engine: AVD's decision core, run by the Rust extension.

Buffers, indicators, patterns, context scores and signals all live in Rust.
Python hands it one kline (:meth:`MarketEngine.on_kline`) or a batch of
klines as numpy columns (:meth:`MarketEngine.on_klines`); it never loops
over candles itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from avd import _core
from avd._core import BatchResult, ContextScore, EngineConfig, TradeSignal
from avd.exceptions import ConfigError
from avd.history import Candles
from avd.types import BoolArray, FloatArray, IntArray, as_bool_array, as_float_array, as_int_array

__all__ = [
    "BatchResult",
    "ContextScore",
    "EngineConfig",
    "MarketEngine",
    "TradeSignal",
    "load_engine_config",
]


def load_engine_config(source: str | Path | dict[str, Any] | None = None) -> EngineConfig:
    """Build an :class:`EngineConfig` from a JSON file, a dict, or the defaults.

    Missing keys take their documented defaults; unknown keys and invalid
    values raise :class:`~avd.exceptions.ConfigError` naming them.
    """
    if source is None:
        return EngineConfig()
    if isinstance(source, dict):
        return EngineConfig(json.dumps(source))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the engine configuration: {exc.strerror}") from exc
    try:
        return EngineConfig(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


class MarketEngine:
    """Every symbol's buffers, indicators, scorer and signal evaluator.

    Parameters
    ----------
    config
        An :class:`EngineConfig`, a dict or a JSON file path; defaults if None.
    """

    def __init__(self, config: EngineConfig | dict[str, Any] | str | Path | None = None) -> None:
        cfg = config if isinstance(config, EngineConfig) else load_engine_config(config)
        self._e = _core.MarketEngine(cfg)

    @property
    def config(self) -> EngineConfig:
        """The configuration in force."""
        return self._e.config

    def __len__(self) -> int:
        return len(self._e)

    def __repr__(self) -> str:
        return repr(self._e)

    def track(self, symbol: str, interval: str) -> None:
        """Start tracking a stream (streams are also tracked on first kline)."""
        self._e.track(symbol, interval)

    def streams(self) -> list[tuple[str, str]]:
        """``(symbol, interval)`` of every tracked stream."""
        return self._e.streams()

    def on_kline(
        self,
        symbol: str,
        interval: str,
        open_time: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        *,
        closed: bool = True,
        quote_volume: float = float("nan"),
        trades: float = float("nan"),
        taker_buy_base: float = float("nan"),
        allow_gap: bool = True,
    ) -> list[ContextScore | TradeSignal]:
        """Run one kline; return the events it produced.

        A closed candle past warm-up yields a :class:`ContextScore`, followed
        by a :class:`TradeSignal` when one fires. With ``allow_gap=False`` a
        closed candle that leaves candles missing is not processed (see
        :meth:`state`'s buffer counters), so the caller can backfill first.
        """
        return self._e.on_kline(
            symbol,
            interval,
            open_time,
            open,
            high,
            low,
            close,
            volume,
            closed=closed,
            quote_volume=quote_volume,
            trades=trades,
            taker_buy_base=taker_buy_base,
            allow_gap=allow_gap,
        )

    def on_klines(
        self,
        symbol: str,
        interval: str,
        open_time: IntArray,
        open: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
        *,
        quote_volume: FloatArray | None = None,
        trades: FloatArray | None = None,
        taker_buy_base: FloatArray | None = None,
        closed: BoolArray | None = None,
        allow_gap: bool = True,
    ) -> BatchResult:
        """Run a batch of klines of one stream, given as numpy columns.

        Returns a columnar :class:`BatchResult` (one row per closed candle
        appended, score NaN during warm-up) with the signals fired. Every row
        is validated first: a bad batch raises and changes nothing.
        """
        return self._e.on_klines(
            symbol,
            interval,
            as_int_array("open_time", open_time),
            as_float_array("open", open),
            as_float_array("high", high),
            as_float_array("low", low),
            as_float_array("close", close),
            as_float_array("volume", volume),
            quote_volume=None
            if quote_volume is None
            else as_float_array("quote_volume", quote_volume),
            trades=None if trades is None else as_float_array("trades", trades),
            taker_buy_base=None
            if taker_buy_base is None
            else as_float_array("taker_buy_base", taker_buy_base),
            closed=None if closed is None else as_bool_array("closed", closed),
            allow_gap=allow_gap,
        )

    def on_candles(self, candles: Candles, *, allow_gap: bool = True) -> BatchResult:
        """Run a :class:`~avd.history.Candles` history (all closed)."""
        return self.on_klines(
            candles.symbol,
            candles.interval,
            candles.open_time,
            candles.open,
            candles.high,
            candles.low,
            candles.close,
            candles.volume,
            quote_volume=candles.quote_volume,
            trades=candles.trades,
            taker_buy_base=candles.taker_buy_base,
            allow_gap=allow_gap,
        )

    def context(self, symbol: str, interval: str) -> ContextScore | None:
        """The latest context of a stream (None while warming up)."""
        return self._e.context(symbol, interval)

    def contexts(self) -> list[ContextScore]:
        """The latest context of every stream past warm-up."""
        return self._e.contexts()

    def indicators(self, symbol: str, interval: str) -> dict[str, float]:
        """Named indicator values of a stream after its last closed candle."""
        return self._e.indicators(symbol, interval)

    def state(self, symbol: str, interval: str) -> dict[str, Any]:
        """Signal state (armed sides, cooldown), counters and last price of a stream.

        ``signal_score`` is the strategy's latest score (``strategy``,
        ``score``, ``direction``, ``context``, ``rules``), None for the
        ``"context"`` strategy.
        """
        return self._e.state(symbol, interval)

    def candles(self, symbol: str, interval: str) -> dict[str, Any]:
        """The closed candles a stream holds, as numpy columns."""
        return self._e.candles(symbol, interval)
