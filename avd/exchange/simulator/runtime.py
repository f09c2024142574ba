"""The simulator's state and its replay loop (pacing, pause, step, speed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from avd.history import sample_dir, utc_text

from .accounts import Accounts
from .config import SimConfig
from .errors import BinanceError
from .exchange_info import SymbolRules, rules_for
from .faults import Faults
from .fill_model import FillModel, ReplayFillModel
from .market import Market, SymbolMarket
from .matching import Matcher, now_ms
from .numbers import fmt_units
from .rate_limit import RateLimiter
from .series import load_series
from .streams import StreamHub
from .ticks import TickReplay, load_recording
from .user_stream import UserStreams

log = logging.getLogger(__name__)


class Simulator:
    """Everything one simulator instance holds."""

    def __init__(self, config: SimConfig, fill_model: FillModel | None = None) -> None:
        self.config = config
        data = config.data if config.data is not None else sample_dir()
        series = load_series(data, config.symbols, config.step_ms, config.interval)
        self.market = Market(
            series,
            config.step_ms,
            config.start_ms,
            config.book_levels,
            config.agg_trades_kept,
            config.book_seed,
        )
        self.rules: dict[str, SymbolRules] = {
            s: rules_for(sm.series) for s, sm in self.market.symbols.items()
        }
        self.accounts = Accounts(config.accounts)
        self.faults = Faults(config.faults)
        self.limiter = RateLimiter(config.weight_limit, config.ban_after_429s, config.ban_seconds)
        model = fill_model or ReplayFillModel(
            config.maker_fee, config.taker_fee, config.slippage_bps
        )
        self.matcher = Matcher(self.market, self.rules, self.accounts, model, self.faults)
        self.hub = StreamHub(self)
        #: ``--ticks``: the recording replayed instead of the candles
        self.ticks = TickReplay(load_recording(config.ticks), self.hub) if config.ticks else None
        self.users = UserStreams(self)
        self.speed = config.speed
        self.paused = config.paused
        self.steps = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- replay ----------------------------------------------------------

    def step_once(self) -> int:
        """Advance the replay one step and publish it; the number of ticks."""
        ticks = self.market.step()
        if not ticks:
            return 0
        self.steps += 1
        event_ms = now_ms()
        symbols = self.market.symbols
        hub, matcher = self.hub, self.matcher
        for t in ticks:
            sm = symbols[t.symbol]
            hub.publish_tick(sm, t, event_ms)
            matcher.on_tick(t)
        return len(ticks)

    async def step(self, n: int) -> int:
        """Advance ``n`` steps now (paused or not); steps done."""
        done = 0
        if self.ticks is not None:
            while done < n and not self.ticks.finished:
                self.ticks.send_one()
                done += 1
                await self.hub.backpressure()
            return done
        for _ in range(n):
            if self.market.finished:
                break
            self.step_once()
            done += 1
            await self.hub.backpressure()
        return done

    def wake(self) -> None:
        """Re-read pause/speed now."""
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def run(self) -> None:
        """The replay loop: real time x speed, or as fast as consumers take (speed 0)."""
        if self.ticks is not None:
            await self.ticks.run(self)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        told_end = False
        while True:
            if self.market.finished and not told_end:
                # say it once: a finished replay streams nothing more, silently otherwise
                told_end = True
                log.warning(
                    "the replay reached the end of its data (%s UTC): no more candles will stream",
                    utc_text(self.market.end),
                )
            if self.paused or self.market.finished:
                await self._sleep(0.5)
                deadline = loop.time()
                continue
            if self.speed == 0:
                if not self.hub.conns:
                    self.hub.on_change.clear()
                    await self._sleep(0.05)
                    continue
                self.step_once()
                await self.hub.backpressure()
                await asyncio.sleep(0)
                continue
            interval = self.config.step_ms / 1000.0 / self.speed
            self.step_once()
            await self.hub.backpressure()
            deadline += interval
            delay = deadline - loop.time()
            if delay > 0:
                await self._sleep(delay)
            else:
                if delay < -1.0:
                    deadline = loop.time()  # fell far behind: do not burst to catch up
                await asyncio.sleep(0)

    def start(self) -> None:
        """Start the replay task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        """Stop the replay and close every connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.hub.drop_all()

    def state(self) -> dict[str, Any]:
        """The replay state (for ``GET /sim/admin/state``)."""
        return {
            "now": self.market.now,
            "speed": self.speed,
            "paused": self.paused,
            "finished": self.market.finished,
            "steps": self.steps,
            "step_ms": self.config.step_ms,
            "symbols": sorted(self.market.symbols),
            # the replayed interval of each symbol (what a platform streams from it)
            "intervals": {
                sym: sm.series.interval for sym, sm in sorted(self.market.symbols.items())
            },
            "stream_connections": len(self.hub.conns),
            "user_connections": len(self.users.conns),
            "ticks": self.ticks.state() if self.ticks is not None else None,
        }

    def book_view(self, symbol: str) -> dict[str, Any]:
        """The whole book of ``symbol`` as the diff stream has published it (admin)."""
        if self.ticks is not None and symbol == self.ticks.symbol:
            return {"symbol": symbol, **self.ticks.book.view()}
        sm = self.market.get(symbol)
        if sm is None:
            raise BinanceError(-1121, "Invalid symbol.")
        bids, asks = sm.book.sides()
        return {
            "symbol": symbol,
            "lastUpdateId": sm.update_id,
            "bids": [[fmt_units(p), fmt_units(q)] for p, q in bids],
            "asks": [[fmt_units(p), fmt_units(q)] for p, q in asks],
        }

    # -- derived market data --------------------------------------------

    def ticker(self, sm: SymbolMarket, mini: bool) -> dict[str, Any]:
        """The 24h rolling ticker of one symbol (REST shape)."""
        w = sm.window(self.market.now)
        o, last = w["open"], w["last"]
        out: dict[str, Any] = {"symbol": sm.symbol}
        if not mini:
            change = last - o
            pct = f"{change * 100 / o:.3f}" if o else "0.000"
            bid, bq, ask, aq = sm.book.top()
            out.update(
                {
                    "priceChange": fmt_units(change),
                    "priceChangePercent": pct,
                    "weightedAvgPrice": fmt_units(w["q"] * 100_000_000 // w["v"])
                    if w["v"]
                    else fmt_units(last),
                    "prevClosePrice": fmt_units(w["prev"]),
                    "lastPrice": fmt_units(last),
                    "lastQty": fmt_units(sm.last_qty),
                    "bidPrice": fmt_units(bid),
                    "bidQty": fmt_units(bq),
                    "askPrice": fmt_units(ask),
                    "askQty": fmt_units(aq),
                }
            )
        else:
            out["lastPrice"] = fmt_units(last)
        out.update(
            {
                "openPrice": fmt_units(o),
                "highPrice": fmt_units(w["high"]),
                "lowPrice": fmt_units(w["low"]),
                "volume": fmt_units(w["v"]),
                "quoteVolume": fmt_units(w["q"]),
                "openTime": w["open_time"],
                "closeTime": self.market.now - 1,
                "firstId": max(sm.trade_id - w["n"], 0),
                "lastId": sm.trade_id - 1,
                "count": w["n"],
            }
        )
        return out

    def ticker_event(self, sm: SymbolMarket, event_ms: int, mini: bool) -> dict[str, Any]:
        """The ``@ticker`` / ``@miniTicker`` stream payload."""
        t = self.ticker(sm, mini)
        ev: dict[str, Any] = {
            "e": "24hrMiniTicker" if mini else "24hrTicker",
            "E": event_ms,
            "s": sm.symbol,
        }
        if mini:
            ev.update(
                {
                    "c": t["lastPrice"],
                    "o": t["openPrice"],
                    "h": t["highPrice"],
                    "l": t["lowPrice"],
                    "v": t["volume"],
                    "q": t["quoteVolume"],
                }
            )
            return ev
        ev.update(
            {
                "p": t["priceChange"],
                "P": t["priceChangePercent"],
                "w": t["weightedAvgPrice"],
                "x": t["prevClosePrice"],
                "c": t["lastPrice"],
                "Q": t["lastQty"],
                "b": t["bidPrice"],
                "B": t["bidQty"],
                "a": t["askPrice"],
                "A": t["askQty"],
                "o": t["openPrice"],
                "h": t["highPrice"],
                "l": t["lowPrice"],
                "v": t["volume"],
                "q": t["quoteVolume"],
                "O": t["openTime"],
                "C": t["closeTime"],
                "F": t["firstId"],
                "L": t["lastId"],
                "n": t["count"],
            }
        )
        return ev
