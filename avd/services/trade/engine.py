"""The TradeEngine: signals and manual requests become sized, risk-checked orders.

This module wires the parts, each of one responsibility, and gives the
service one entry point:

==============  ===============================================================
module          responsibility
==============  ===============================================================
``venues``      exchanges per client and mode, paper accounts, symbols, prices
``entries``     a BUY: the entry guard, sizing, booking the pending trade, placing
``sells``       a manual SELL of a holding, first in, first out
``booking``     order reports, fills, exits, realized P&L, the fee, the risk state
``orders``      order-update routing, tracking and protecting positions, signal exits
``stops``       the stop monitor (the Rust stop tracker on the market stream)
``protection``  live positions: the protective stop order, the market exits
``recovery``    restart recovery and reconciliation with the exchanges
``leases``      trade workers: which clients this process owns (off by default)
``signals``     the bots: a signal becomes a trade for every enabled bot
``manual``      close, amend, the kill switch, the account and the queries
``risk``        sizing and the limits every entry must pass
``plans``       a trade request and its stop plan
``positions``   what is held in memory; the client order ids
``settings``    :class:`TradeEngineSettings`
==============  ===============================================================

* Klines and signals are taken on one queue, in the order the MarketContext
  produced them (:class:`~avd.domain.events.CandleEvaluated`, then the
  candle's signal): a candle's fills and stops happen before its signal is
  traded, the backtester's order.
* Every trade is persisted before its entry order is sent (the order's client
  order id derives from the trade id), with its orders, fills and history.
* On start (:meth:`TradeEngine.start`) pending and open trades are reconciled
  with the exchange (see :mod:`avd.services.trade.recovery`).
* With trade workers (``workers.leases``), this process acts only for the
  clients it holds a lease on: their signals, order updates, requests; a
  client taken over is recovered as after a restart, one given back leaves
  memory (see :mod:`avd.services.trade.leases`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from avd.domain.bus import EventBus
from avd.domain.errors import Unavailable
from avd.domain.events import (
    CandleEvaluated,
    ClientChanged,
    Event,
    KlineReceived,
    SignalGenerated,
)
from avd.domain.gateways import ClientGateway
from avd.exchange.exchange import Exchange
from avd.exchange.paper import PaperExchange
from avd.services.trade.accounts import AccountView
from avd.services.trade.booking import Booking
from avd.services.trade.entries import ClientLocks, Entries, ParamsSource
from avd.services.trade.fees import FeeOutbox
from avd.services.trade.leases import Leases
from avd.services.trade.manual import Manual
from avd.services.trade.orders import Orders
from avd.services.trade.plans import TradeOrder
from avd.services.trade.positions import OrderIds, Positions
from avd.services.trade.recovery import Reconciliation, Recovery
from avd.services.trade.risk import RiskManager
from avd.services.trade.schemas import RiskStatus
from avd.services.trade.sells import SellResult, Sells
from avd.services.trade.settings import TradeEngineSettings
from avd.services.trade.signals import BotsSource, Signals
from avd.services.trade.stops import StopMonitor
from avd.services.trade.venues import SymbolSource, Venues
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import TradeRecord
from avd.trading import SymbolFilters

__all__ = ["SellResult", "TradeEngine", "TradeOrder"]

log = logging.getLogger(__name__)


class TradeEngine:
    """Execution, risk, stops and persistence for every client, on one hub."""

    def __init__(
        self,
        hub: EventBus,
        db: Database,
        gateway: ClientGateway,
        *,
        params: ParamsSource,
        bots: BotsSource,
        symbols: SymbolSource,
        live_exchange: Callable[[int], Awaitable[Exchange]] | None = None,
        price_source: Callable[[str], Awaitable[Decimal]] | None = None,
        settings: TradeEngineSettings | None = None,
    ) -> None:
        self.hub = hub
        self.db = db
        self.settings = s = settings or TradeEngineSettings()
        self.risk = RiskManager(s.risk)
        self.ids = OrderIds()
        self.positions = Positions()
        self.locks = ClientLocks()
        self.venues = Venues(
            db, s, symbols=symbols, live_exchange=live_exchange, price_source=price_source
        )
        self.fees = FeeOutbox(db, gateway, retry_s=s.fee_retry_s)
        self.booking = Booking(db, hub, self.venues, self.risk, self.fees, self.positions, self.ids)
        self.orders = Orders(db, hub, self.venues, self.booking, self.positions, self.ids, s)
        self.monitor: StopMonitor = self.orders.monitor
        self.entries = Entries(
            db,
            hub,
            gateway,
            params,
            self.venues,
            self.risk,
            self.orders,
            self.booking,
            self.positions,
            self.ids,
            self.locks,
        )
        self.manual = Manual(
            db,
            params,
            self.venues,
            self.monitor,
            self.risk,
            self.booking,
            self.positions,
            self.locks,
        )
        self.sells = Sells(
            db, hub, self.venues, self.monitor, self.entries, self.manual, self.locks
        )
        self.signals = Signals(
            bots,
            self.entries,
            self.manual,
            self.orders,
            self.positions,
            cache_s=s.bots_cache_s,
            ttl_s=s.workers.signal_ttl_s,
        )
        self.leases = Leases(db, s.workers)
        self.signals.owns = self.orders.owns = self.leases.owns
        if self.leases.enabled:
            self.signals.holds = self.leases.holds
            self.signals.handled_before = self.leases.handled_before
            self.signals.mark = self.leases.mark
        self.leases.bind(
            self._bot_clients, self._take_client, self._drop_client, self.signals.take_over
        )
        self.recovery = Recovery(
            db,
            self.venues,
            self.risk,
            self.orders,
            self.booking,
            self.positions,
            self.ids,
            protective_orders=s.protective_orders,
        )
        self.venues.listen(self.orders.on_order_update, self.recovery.reconcile_client)
        #: the exchanges of the clients, by client id (paper and live)
        self.paper: dict[int, PaperExchange] = self.venues.paper
        self.live: dict[int, Exchange] = self.venues.live
        self._started = False
        self._evaluated_candles = False

    # -- wiring ----------------------------------------------------------------------

    def subscribe(self, *, evaluated_candles: bool = False) -> None:
        """Take klines (prices for paper fills and stops) and signals from the hub.

        One queue for both, so they are handled in the order they were
        published. ``evaluated_candles``: a MarketContext runs on this hub,
        so closed candles are taken from its :class:`CandleEvaluated` (which
        precedes the candle's signal) rather than from the collector's
        kline (which may overtake the previous candle's signal).
        """
        self._evaluated_candles = evaluated_candles
        self.hub.subscribe(
            "trade-engine",
            self._on_event,
            KlineReceived,
            CandleEvaluated,
            SignalGenerated,
            ClientChanged,
        )

    async def start(self) -> None:
        """Migrate the database, then recover and reconcile."""
        if self._started:
            return
        await self.db.upgrade()
        try:
            async with self.db.write() as s:
                self.ids.namespace = await repo.namespace(s)
        except IntegrityError:  # another worker drew it at the same moment
            async with self.db.write() as s:
                self.ids.namespace = await repo.namespace(s)
        if self.leases.enabled:
            # the clients dealt to this worker are claimed and recovered one by one
            await self.leases.tick()
            self.leases.start()
        else:
            await self.recovery.recover()
        # fees owed before a restart (or while the Client service was down)
        self.fees.start()
        self._started = True

    async def stop(self) -> None:
        """Give the leases back, stop charging owed fees and close the exchanges."""
        await self.leases.stop()
        await self.fees.stop()
        await self.venues.close()

    @property
    def namespace(self) -> str:
        """Drawn once per database: part of every client order id."""
        return self.ids.namespace

    @property
    def reconciliation(self) -> Reconciliation:
        """What the last reconciliation with the exchanges found."""
        return self.recovery.reconciliation

    def oid(self, client_id: int, trade_id: int, leg: str) -> str:
        """The client order id of one leg of one trade."""
        return self.ids.oid(client_id, trade_id, leg)

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's filters (cached)."""
        return await self.venues.filters(symbol)

    # -- the market ------------------------------------------------------------------

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, KlineReceived):
            if not (event.closed and self._evaluated_candles):
                await self.on_kline(event)
        elif isinstance(event, CandleEvaluated):
            if self._evaluated_candles:
                await self.on_kline(event.kline)
        elif isinstance(event, SignalGenerated):
            await self.signals.on_signal(event)
        elif isinstance(event, ClientChanged):
            # a bot enabled, disabled or blocked: the next signal reads the bots again
            self.signals.forget_bots()

    def seed_candle(self, symbol: str, interval: str, open_time: int, close: Decimal) -> None:
        """The newest closed candle the platform holds of a stream (at start, from the store).

        Klines of that stream up to it are then ignored (see :meth:`Venues.seed_candle`).
        """
        self.venues.seed_candle(symbol, interval, open_time, close)

    async def on_kline(self, ev: KlineReceived) -> None:
        """A kline: paper exchanges see it (fills), then the stops are updated."""
        if self.leases.lapsed:
            return  # the leases may have passed to another worker: act on none
        if self.venues.stale(ev):
            log.debug("ignored a stale kline %s %s %d", ev.symbol, ev.interval, ev.open_time)
            return
        await self.venues.on_kline(ev)
        await self.monitor.on_kline(ev)

    async def on_tick(self, symbol: str, ts: int, price: Decimal) -> None:
        """One price (from a poller when no kline stream feeds the engine)."""
        await self.venues.on_tick(symbol, ts, price)
        await self.monitor.on_price(symbol, price, ts)

    async def on_signal(self, sig: SignalGenerated) -> None:
        """Trade a signal for every enabled bot that trades its symbol."""
        await self.signals.on_signal(sig)

    # -- trade workers -----------------------------------------------------------------

    async def _bot_clients(self) -> set[int]:
        return {c for c, _ in await self.signals.bots()}

    async def _take_client(self, client_id: int) -> None:
        """A client this worker now owns: restore it as after a restart."""
        self.recovery.reconciliation = await self.recovery.recover({client_id})

    async def _drop_client(self, client_id: int) -> None:
        """A client another worker owns now: forget its positions, close its exchanges.

        Nothing is sent to the exchange: the protective stop orders stay
        where they are, for the new owner to find by their client order ids.
        """
        for trade_id, t in list(self.monitor.positions.items()):
            if t.client_id == client_id:
                self.monitor.detach(trade_id)
        for trade_id, h in list(self.positions.held.items()):
            if h.client_id == client_id:
                self.positions.release(trade_id)
                self.positions.exit_orders.pop(trade_id, None)
                self.positions.close_reason.pop(trade_id, None)
        for venue in (self.venues.paper, self.venues.live):
            ex = venue.pop(client_id, None)
            if ex is not None:
                await ex.close()

    async def mine(self, client_id: int) -> None:
        """Refuse a request for a client another trade worker owns.

        A client nobody holds is claimed here (a first request).

        Raises
        ------
        Unavailable
            Naming the worker that owns the client.
        """
        if self.leases.owns(client_id) or await self.leases.claim(client_id):
            return
        raise Unavailable(
            "not_owner",
            f"client {client_id} is served by another trade worker; "
            f"this one ({self.leases.worker_id}) does not own it",
            service="trade",
        )

    # -- requests --------------------------------------------------------------------

    async def execute(
        self, client_id: int, order: TradeOrder, *, origin: str = "manual"
    ) -> TradeRecord:
        """Open a trade (a BUY); raise a :class:`~avd.domain.errors.Refusal`."""
        await self.mine(client_id)
        return await self.entries.execute(client_id, order, origin=origin)

    async def sell(self, client_id: int, order: TradeOrder) -> SellResult:
        """Sell (part of) the client's holding in a symbol, first in, first out."""
        await self.mine(client_id)
        return await self.sells.sell(client_id, order)

    async def close(self, client_id: int, trade_id: int, *, reason: str = "manual") -> TradeRecord:
        """Close an open position at the market."""
        await self.mine(client_id)
        return await self.manual.close(client_id, trade_id, reason=reason)

    async def amend(
        self,
        client_id: int,
        trade_id: int,
        *,
        stop_loss: Decimal | None = None,
        take_profits: tuple[tuple[Decimal, Decimal], ...] | None = None,
    ) -> TradeRecord:
        """Move the stop and/or replace the take-profit targets of an open trade."""
        await self.mine(client_id)
        return await self.manual.amend(
            client_id, trade_id, stop_loss=stop_loss, take_profits=take_profits
        )

    async def kill_switch(self, active: bool, reason: str = "") -> list[int]:
        """Turn the kill switch on (close everything, stop entries) or off."""
        return await self.manual.kill_switch(active, reason)

    async def trade_of(self, client_id: int, trade_id: int) -> TradeRecord:
        """The client's trade (another client's trade is not found either)."""
        return await self.manual.trade_of(client_id, trade_id)

    async def trades(
        self, client_id: int, statuses: tuple[str, ...] | None, *, limit: int, offset: int
    ) -> list[TradeRecord]:
        """A client's trades, newest first."""
        return await self.manual.trades(client_id, statuses, limit=limit, offset=offset)

    async def unblock(self, client_id: int | None) -> list[int]:
        """Lift the drawdown block (admin)."""
        return await self.manual.unblock(client_id)

    async def risk_status(self, client_id: int) -> RiskStatus:
        """The client's risk state, against its trading account's equity now."""
        await self.mine(client_id)
        return await self.manual.risk_status(client_id)

    async def account(self, client_id: int, mode: str | None = None) -> AccountView:
        """The trading account: balances, equity, exposure, realized and unrealized P&L."""
        await self.mine(client_id)
        return await self.manual.account(client_id, mode)

    async def reset_paper_account(self, client_id: int, balance: Decimal) -> AccountView:
        """Start the client's paper account again from ``balance``."""
        await self.mine(client_id)
        return await self.manual.reset_paper_account(client_id, balance)
