"""Orders: what the exchanges report, and the positions the stop monitor tracks.

* :meth:`Orders.apply_report`: an entry order's report is booked; once the
  entry has filled, the position is tracked at once, announced
  (:class:`~avd.domain.events.TradePlaced`), then protected on the exchange;
* :meth:`Orders.on_order_update`: every order update of every exchange (the
  user data stream, paper fills) goes where its order's purpose says: an
  entry's report, a protective stop that filled (the exit), a paper exit of a
  signal that filled or expired;
* the stop monitor's sink: stop moves and protective orders are written
  here, exits go to the :class:`~avd.services.trade.booking.Booking`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from avd.domain.bus import EventBus
from avd.domain.events import TradePlaced
from avd.exchange.exchange import ExchangeError, OrderReport, OrderRequest
from avd.exchange.paper import PaperExchange
from avd.services.trade.booking import Booking, fmt
from avd.services.trade.plans import plan_from_json
from avd.services.trade.positions import OrderIds, Positions
from avd.services.trade.settings import TradeEngineSettings
from avd.services.trade.stops import StopMonitor, Tracked
from avd.services.trade.venues import Venues
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import OrderRecord, TradeRecord
from avd.store.money import utcnow

log = logging.getLogger(__name__)


def _client_of(client_order_id: str) -> int:
    """The client of an AVD client order id (``avd<ns>-<client>-<trade>-<leg>``), else -1."""
    parts = client_order_id.split("-")
    try:
        return int(parts[1]) if len(parts) == 4 and parts[0].startswith("avd") else -1
    except ValueError:
        return -1


class Orders:
    """Routes order reports; tracks and protects the open positions (owns the stop monitor)."""

    def __init__(
        self,
        db: Database,
        hub: EventBus,
        venues: Venues,
        booking: Booking,
        positions: Positions,
        ids: OrderIds,
        settings: TradeEngineSettings,
    ) -> None:
        self.db = db
        self.hub = hub
        self.venues = venues
        self.booking = booking
        self.positions = positions
        self.ids = ids
        self.settings = settings
        self.monitor = StopMonitor(
            hub,
            self,
            protective_orders=settings.protective_orders,
            stop_limit_offset_bps=settings.stop_limit_offset_bps,
        )
        # one entry report at a time: the REST answer and the stream's may race
        self._lock = asyncio.Lock()
        #: whether this worker acts for a client now (trade workers; default: all)
        self.owns: Callable[[int], bool] = lambda _client_id: True

    # -- entries -----------------------------------------------------------------------

    async def apply_report(self, trade_id: int, report: OrderReport) -> TradeRecord:
        """Record an entry order's state; open the position once it has filled."""
        async with self._lock:
            t, opened = await self.booking.record_entry(trade_id, report)
            if not opened:
                return t
            assert t.entry_price is not None
            self.positions.hold(t.id, t.client_id, t.symbol, t.quantity * t.entry_price)
            # tracked at once; the protective order follows the announcement
            tracked = await self.track(t, protect=False)
            await self.hub.publish(
                TradePlaced(
                    trade_id=t.id,
                    client_id=t.client_id,
                    symbol=t.symbol,
                    side=t.side,
                    quantity=fmt(t.quantity),
                    entry_price=fmt(t.entry_price),
                    stop_loss=fmt(t.stop_loss),
                    mode=t.mode,
                    client_order_id=report.client_order_id,
                    origin=t.origin,
                )
            )
            await self.monitor.protect(tracked)
            return t

    async def track(
        self, t: TradeRecord, *, restored: bool = False, protect: bool = True
    ) -> Tracked:
        """Put an open trade in the stop monitor (``restored``: after a restart)."""
        assert t.entry_price is not None
        ex = await self.venues.exchange_for(t.client_id, t.mode)
        tracked = Tracked(
            trade_id=t.id,
            client_id=t.client_id,
            symbol=t.symbol,
            side=t.side,
            exchange=ex,
            filters=await self.venues.filters(t.symbol),
            stop_version=t.stop_version,
            namespace=self.ids.namespace,
        )
        if restored and ex.mode != "paper" and self.settings.protective_orders:
            tracked.protective_id = self.ids.oid(t.client_id, t.id, f"s{t.stop_version}")
            got = await ex.get_order(t.symbol, tracked.protective_id)
            if got is None or not got.is_open:
                tracked.protective_id = None
        await self.monitor.add(
            tracked,
            entry=t.entry_price,
            stop=t.initial_stop,
            qty=t.open_quantity,
            plan=plan_from_json(t.plan),
            opened_at=t.opened_ms,
            current_stop=t.stop_loss if t.stop_loss != t.initial_stop else None,
            protect=protect,
        )
        return tracked

    # -- order updates -----------------------------------------------------------------

    async def on_order_update(self, report: OrderReport) -> None:
        """An order update of any exchange, routed by the purpose of its order.

        With trade workers, an update of a client another worker owns is
        that worker's (the simulator's account streams every client's orders).
        """
        if not self.owns(_client_of(report.client_order_id)):
            return
        async with self.db.read() as s:
            o = await repo.order_by_cid(s, report.client_order_id)
        if o is None:
            return
        if o.purpose == "entry":
            if o.status == report.status and o.executed_qty == report.executed_qty:
                return  # already recorded (the REST answer came first)
            await self.apply_report(o.trade_id, report)
        elif o.purpose == "stop" and report.status == "FILLED":
            await self.stop_filled(o.trade_id, report)
        elif o.purpose == "exit" and report.status == "FILLED":
            await self._signal_exit_filled(o.trade_id, report)
        elif o.purpose == "exit" and not report.is_open:
            self.positions.exit_orders.pop(o.trade_id, None)  # expired: the position stays
            async with self.db.write() as s:
                row = await repo.order_by_cid(s, report.client_order_id)
                if row is not None:
                    row.status = report.status

    async def stop_filled(self, trade_id: int, report: OrderReport) -> None:
        """The protective stop filled on the exchange: that fill is the exit."""
        tracked = self.monitor.detach(trade_id)
        if tracked is None:
            return
        tracked.protective_id = None
        full = report
        if not report.fills or report.cumulative_quote == 0:
            got = await tracked.exchange.get_order(tracked.symbol, report.client_order_id)
            full = got if got is not None else report
        await self.booking.exited(
            tracked, full.executed_qty, full.average_price, "stop_loss", full.time, full, True
        )

    # -- the paper exits of signals ----------------------------------------------------

    async def place_signal_exit(self, t: TradeRecord, tracked: Tracked, after_ms: int) -> None:
        """A paper MARKET exit that fills at the first trade after ``after_ms``.

        The stops keep running until it fills (as the backtester's
        ``exit_on_opposite``); one waits per trade at most.
        """
        if t.id in self.positions.exit_orders:
            return
        assert isinstance(tracked.exchange, PaperExchange)
        st = self.monitor.tracker.get(t.id)
        assert st is not None
        cid = self.ids.oid(t.client_id, t.id, "x")
        async with self.db.write() as s:
            await repo.add_order(
                s,
                OrderRecord(
                    trade_id=t.id,
                    client_order_id=cid,
                    purpose="exit",
                    symbol=t.symbol,
                    side=tracked.exit_side,
                    type="MARKET",
                    status="PENDING_NEW",
                    quantity=repo.q8(st.qty),
                    after_ms=after_ms,
                ),
            )
            await repo.log(s, t.id, "exit_requested", origin="signal")
        self.positions.exit_orders[t.id] = cid
        try:
            await tracked.exchange.place_order(
                OrderRequest(
                    symbol=t.symbol,
                    side=tracked.exit_side,
                    type="MARKET",
                    quantity=st.qty,
                    client_order_id=cid,
                    after_ms=after_ms,
                )
            )
        except ExchangeError as exc:
            self.positions.exit_orders.pop(t.id, None)
            log.warning("trade %d: signal exit not placed: %s", t.id, exc.message)

    async def _signal_exit_filled(self, trade_id: int, report: OrderReport) -> None:
        """A paper signal exit filled: that fill closes the position."""
        if self.positions.exit_orders.get(trade_id) != report.client_order_id:
            return
        tracked = self.monitor.detach(trade_id)
        if tracked is None:
            return
        await self.booking.exited(
            tracked,
            report.executed_qty,
            report.average_price,
            "signal",
            report.time,
            report,
            True,
        )

    # -- the stop monitor's sink -------------------------------------------------------

    async def stop_moved(
        self, t: Tracked, old: Decimal, new: Decimal, reason: str, ts: int
    ) -> None:
        """Persist a stop move."""
        async with self.db.write() as s:
            row = await repo.get_trade(s, t.trade_id)
            if row is None:
                return
            row.stop_loss = new
            row.stop_version = t.stop_version
            await repo.log(s, t.trade_id, "stop_moved", old=fmt(old), new=fmt(new), reason=reason)

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
        """Book a partial or final exit."""
        await self.booking.exited(t, qty, price, reason, ts, report, final)

    async def order_recorded(self, t: Tracked, purpose: str, report: OrderReport) -> None:
        """Persist a protective stop order (placed or cancelled)."""
        async with self.db.write() as s:
            o = await repo.order_by_cid(s, report.client_order_id)
            if o is None:
                o = await repo.add_order(
                    s,
                    OrderRecord(
                        trade_id=t.trade_id,
                        client_order_id=report.client_order_id,
                        purpose=purpose,
                        symbol=t.symbol,
                        side=report.side or t.exit_side,
                        type=report.type or "STOP_LOSS_LIMIT",
                        status=report.status,
                        quantity=repo.q8(report.orig_qty),
                        price=repo.q8(report.price) if report.price else None,
                        stop_price=repo.q8(report.stop_price) if report.stop_price else None,
                    ),
                )
            o.status = report.status
            o.exchange_order_id = report.order_id or o.exchange_order_id
            o.updated_at = utcnow()
            await repo.log(
                s,
                t.trade_id,
                f"{purpose}_order",
                client_order_id=o.client_order_id,
                status=report.status,
                stop_price=fmt(report.stop_price),
            )
