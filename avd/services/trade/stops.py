"""The stop monitor: drives the Rust :class:`~avd.trading.StopTracker` from the market stream.

Closed klines go through :meth:`StopTracker.on_candle` (the intrabar path),
in-progress klines through :meth:`StopTracker.on_price` (their latest
price). What the tracker emits becomes:

* ``StopMoved`` -> :class:`~avd.domain.events.SLAdjusted` on the hub; in
  live (and simulator) mode the protective STOP_LOSS_LIMIT order on the
  exchange is cancelled and replaced at the new stop, each version with its
  own deterministic client order id (``...-s<version>``);
* ``PositionReduced`` / ``PositionClosed`` -> the position is reduced or
  closed: in paper mode at the simulated price the tracker reports, in live
  mode by a market order (after cancelling the protective stop; if the
  exchange already filled it, that fill is the exit).

A close or a sale asked for now (:meth:`StopMonitor.close`,
:meth:`StopMonitor.reduce`) goes to the exchange before the tracker lets go
of the quantity: when the exchange refuses the order or cannot be reached,
the position stays tracked and protected, and the :class:`ExchangeError` is
raised to the caller.

Persistence and P&L belong to the :class:`StopSink` (the trade service's
orders and booking).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from avd import _core
from avd.domain.bus import EventBus
from avd.domain.events import KlineReceived, SLAdjusted
from avd.exchange.exchange import Exchange, OrderReport, client_order_id
from avd.exchange.paper import PaperExchange
from avd.indicators import Atr
from avd.services.trade.protection import Protection
from avd.trading import (
    PositionClosed,
    PositionReduced,
    StopEvent,
    StopMoved,
    StopPlan,
    StopTracker,
    SymbolFilters,
)

log = logging.getLogger(__name__)

#: ATR period of chandelier stops (Wilder, as the engine's)
ATR_PERIOD = 14

#: tracker reasons -> the close reasons the API reports
CLOSE_REASONS = {
    "StopLoss": "stop_loss",
    "TrailingStop": "trailing_stop",
    "BreakEven": "break_even",
    "BreakEvenStop": "break_even",
    "TakeProfit": "take_profit",
    "TimeStop": "time_stop",
    "Manual": "manual",
}


def close_reason(reason: str) -> str:
    """The API's snake_case reason for a tracker reason."""
    return CLOSE_REASONS.get(reason, reason.lower())


def dec(x: float) -> Decimal:
    """A float price from the stream as the decimal it was printed from."""
    return Decimal(repr(x))


@dataclass
class Tracked:
    """A position the monitor watches."""

    trade_id: int
    client_id: int
    symbol: str
    side: str  # BUY (long) | SELL (short)
    exchange: Exchange
    filters: SymbolFilters
    stop_version: int = 0
    protective_id: str | None = None
    #: the database's client order id namespace
    namespace: str = ""

    @property
    def live(self) -> bool:
        """Whether orders go to an exchange (live or simulator) rather than paper."""
        return self.exchange.mode != "paper"

    @property
    def exit_side(self) -> str:
        """The side that closes the position."""
        return "SELL" if self.side == "BUY" else "BUY"


class StopSink(Protocol):
    """Where the monitor reports what happened (the trade engine)."""

    async def stop_moved(
        self, t: Tracked, old: Decimal, new: Decimal, reason: str, ts: int
    ) -> None:
        """Persist a stop move (and the protective order now on the exchange)."""
        ...

    async def exited(
        self,
        t: Tracked,
        qty: Decimal,
        price: Decimal,
        reason: str,
        ts: int,
        report: OrderReport | None,
        final: bool,
    ) -> None:
        """Persist a partial or final exit at ``price`` (the fill of ``report`` if any)."""
        ...

    async def order_recorded(self, t: Tracked, purpose: str, report: OrderReport) -> None:
        """Persist an order the monitor placed or cancelled (the protective stops)."""
        ...


class StopMonitor:
    """One :class:`StopTracker` for every open position of every client."""

    def __init__(
        self,
        hub: EventBus,
        sink: StopSink,
        *,
        intrabar: str = "direction",
        protective_orders: bool = True,
        stop_limit_offset_bps: Decimal = Decimal(50),
    ) -> None:
        self.hub = hub
        self.sink = sink
        self.tracker = StopTracker(intrabar)
        self.protection = Protection(
            self.tracker,
            sink,
            enabled=protective_orders,
            stop_limit_offset_bps=stop_limit_offset_bps,
        )
        self.positions: dict[int, Tracked] = {}
        self._symbols: set[str] = set()
        self._atr: dict[tuple[str, str], Atr] = {}
        # per symbol, the market and the exits asked for now take turns: a
        # stop hit while a manual sale is on its way to the exchange never
        # sells twice
        self._locks: dict[str, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self.positions)

    def _lock(self, symbol: str) -> asyncio.Lock:
        lock = self._locks.get(symbol)
        if lock is None:
            lock = self._locks[symbol] = asyncio.Lock()
        return lock

    def _symbol_of(self, trade_id: int) -> str:
        t = self.positions.get(trade_id)
        return "" if t is None else t.symbol

    async def add(
        self,
        t: Tracked,
        *,
        entry: Decimal,
        stop: Decimal,
        qty: Decimal,
        plan: StopPlan | None,
        opened_at: int,
        current_stop: Decimal | None = None,
        protect: bool = True,
    ) -> None:
        """Track a position (a new one, or one restored after a restart).

        ``protect=False`` leaves the protective order to a later :meth:`protect`.
        """
        if t.symbol not in self._symbols:
            self.tracker.add_symbol(t.symbol, t.filters)
            self._symbols.add(t.symbol)
        side = "LONG" if t.side == "BUY" else "SHORT"
        self.tracker.add_position(
            t.trade_id, t.symbol, side, entry, stop, qty, plan=plan, opened_at=opened_at
        )
        self.positions[t.trade_id] = t
        if current_stop is not None and current_stop != stop:
            self.tracker.set_stop(t.trade_id, current_stop, opened_at)
        if protect:
            await self.protect(t)

    async def protect(self, t: Tracked) -> None:
        """Place the protective stop order of a live position if it has none."""
        if t.live and self.protection.enabled and t.protective_id is None:
            await self.protection.place(t)

    def detach(self, trade_id: int) -> Tracked | None:
        """Stop tracking a position (its exit happened on the exchange)."""
        self.tracker.remove(trade_id)
        return self.positions.pop(trade_id, None)

    def stop_of(self, trade_id: int) -> Decimal | None:
        """The tracked stop of a position."""
        st = self.tracker.get(trade_id)
        return None if st is None else st.stop

    # -- the market ------------------------------------------------------------------

    async def on_kline(self, ev: KlineReceived) -> None:
        """Feed a kline (closed: its path; in progress: its latest price)."""
        if ev.symbol not in self._symbols:
            return
        async with self._lock(ev.symbol):
            if ev.closed:
                # ATR(14) of the stream, for chandelier stops (effective at the close)
                atr = self._atr.setdefault((ev.symbol, ev.interval), Atr(ATR_PERIOD))
                atr_value = atr.update(ev.high, ev.low, ev.close)
                events = self.tracker.on_candle(
                    ev.symbol,
                    ev.open_time,
                    _core.next_open_time(ev.interval, ev.open_time) - 1,
                    dec(ev.open),
                    dec(ev.high),
                    dec(ev.low),
                    dec(ev.close),
                    atr=atr_value if atr.is_ready else None,
                )
            else:
                ts = ev.event_time or ev.open_time
                events = self.tracker.on_price(ev.symbol, dec(ev.close), ts)
            await self.handle(events)

    async def on_price(self, symbol: str, price: Decimal, ts: int) -> None:
        """Feed one price."""
        if symbol in self._symbols:
            async with self._lock(symbol):
                await self.handle(self.tracker.on_price(symbol, price, ts))

    async def set_stop(self, trade_id: int, stop: Decimal, ts: int) -> None:
        """Move a stop by hand (``PATCH /trades/{id}``)."""
        async with self._lock(self._symbol_of(trade_id)):
            await self.handle(self.tracker.set_stop(trade_id, stop, ts))

    async def close(self, trade_id: int, price: Decimal, ts: int) -> None:
        """Close a position now (manual close, kill switch) at ``price``.

        On an exchange the market order goes out first: the tracker lets the
        position go once the exchange took it.

        Raises
        ------
        ExchangeError
            The exchange refused the exit or could not be reached: the
            position stays tracked, with its protective stop on the exchange.
        """
        async with self._lock(self._symbol_of(trade_id)):
            t = self.positions.get(trade_id)
            st = self.tracker.get(trade_id)
            if t is None or st is None or not t.live:
                await self.handle(self.tracker.close(trade_id, price, ts))
                return
            report, qty, price = await self.protection.exit_now(t, st.qty, price, "x")
            if self.detach(trade_id) is not None:  # else the stop's fill was booked meanwhile
                await self._booked(t, qty, price, "manual", ts, report, final=True)

    async def reduce(
        self, trade_id: int, qty: Decimal, price: Decimal, ts: int, *, leg: str
    ) -> None:
        """Sell part of a position now at the market (a manual SELL of part of a holding).

        The tracker keeps the stop and the plan for what is left; the exit
        goes out as every exit does (paper: at ``price`` after slippage;
        live: a market order first, then the protective stop for the rest).

        Raises
        ------
        ExchangeError
            The exchange refused the sale or could not be reached: nothing
            was sold, the position stays as it was (and protected).
        """
        async with self._lock(self._symbol_of(trade_id)):
            t = self.positions[trade_id]
            if not t.live:
                self.tracker.reduce(trade_id, qty)
                await self._exit(t, qty, price, "manual", ts, final=False, leg=leg)
                return
            protective = t.protective_id
            report, sold, price = await self.protection.exit_now(t, qty, price, leg)
            st = self.tracker.get(trade_id)
            if trade_id not in self.positions or st is None:
                return  # the stop's fill was booked meanwhile
            if report.client_order_id == protective or sold >= st.qty:
                # the protective stop had filled (that fill is the exit), or all is sold
                self.detach(trade_id)
                reason = "stop_loss" if report.client_order_id == protective else "manual"
                await self._booked(t, sold, price, reason, ts, report, final=True)
                return
            self.tracker.reduce(trade_id, sold)
            await self.protection.place_next(t)
            await self._booked(t, sold, price, "manual", ts, report, final=False)

    async def _booked(
        self,
        t: Tracked,
        qty: Decimal,
        price: Decimal,
        reason: str,
        ts: int,
        report: OrderReport,
        final: bool,
    ) -> None:
        # the exchange took the exit: a failure to book it is logged (as for
        # the tracker's own exits), never a refusal of what happened
        try:
            await self.sink.exited(t, qty, price, reason, ts, report, final)
        except Exception:
            log.exception("stop monitor: trade %d: booking the exit failed", t.trade_id)

    async def handle(self, events: list[StopEvent]) -> None:
        """Act on the tracker's events, in order."""
        for e in events:
            t = self.positions.get(e.position_id)
            if t is None:
                continue
            try:
                if isinstance(e, StopMoved):
                    await self._adjusted(t, e)
                elif isinstance(e, PositionReduced):
                    await self._exit(
                        t, e.qty, e.price, "take_profit", e.ts, final=False, leg=f"p{e.level}"
                    )
                elif isinstance(e, PositionClosed):
                    self.positions.pop(e.position_id, None)
                    await self._exit(
                        t, e.qty, e.price, close_reason(e.reason), e.ts, final=True, leg="x"
                    )
            except Exception:
                log.exception("stop monitor: trade %d failed on %s", t.trade_id, type(e).__name__)

    async def _adjusted(self, t: Tracked, e: StopMoved) -> None:
        if t.live and self.protection.enabled:
            await self.protection.replace(t)
        await self.sink.stop_moved(t, e.old_stop, e.new_stop, e.reason, e.ts)
        await self.hub.publish(
            SLAdjusted(
                trade_id=t.trade_id,
                client_id=t.client_id,
                symbol=t.symbol,
                old_stop=str(e.old_stop),
                new_stop=str(e.new_stop),
                reason=e.reason,
                ts=e.ts,
            )
        )

    async def _exit(
        self,
        t: Tracked,
        qty: Decimal,
        price: Decimal,
        reason: str,
        ts: int,
        *,
        final: bool,
        leg: str,
    ) -> None:
        report: OrderReport | None = None
        if isinstance(t.exchange, PaperExchange):
            cid = client_order_id(t.client_id, t.trade_id, leg, t.namespace)
            # a take-profit rests as a limit (maker); other exits take the market
            report = await t.exchange.settle(
                t.symbol, t.exit_side, qty, price, ts, cid, maker=reason == "take_profit"
            )
            price = report.average_price  # after the model's slippage
        elif t.live:
            report, qty, price = await self.protection.market_exit(t, qty, price, leg)
            if not final:
                await self.protection.place_next(t)
        await self.sink.exited(t, qty, price, reason, ts, report, final)
