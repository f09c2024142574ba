"""Entries: a BUY becomes a sized, risk-checked, booked and placed order.

Entries of one client are decided one at a time (the entry guard): an
in-process lock per client (:class:`ClientLocks`), and inside it one
database transaction that locks the client's row
(:func:`~avd.store.trades.lock_entries`), reads the pending and open trades,
sizes against them and books the new trade with the exposure it reserves.
Concurrent requests, the bot's signals and another process sharing the
database all see each other's reservations, so the caps and the position
count hold. The trade is persisted before its order is sent (the order's
client order id derives from the trade id).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import ROUND_DOWN, Decimal

from avd.domain.bus import EventBus
from avd.domain.errors import Conflict, InvalidRequest, Refusal
from avd.domain.events import OrderRejected
from avd.domain.gateways import ClientGateway
from avd.domain.parameters import BotParameters
from avd.exchange.exchange import Exchange, ExchangeError, OrderRequest, SymbolInfo
from avd.services.trade.booking import Booking, fmt
from avd.services.trade.level_plan import LevelsSource, level_plan
from avd.services.trade.orders import Orders
from avd.services.trade.plans import TradeOrder, plan_json, stop_distance
from avd.services.trade.positions import OrderIds, Positions
from avd.services.trade.risk import RiskManager
from avd.services.trade.risk_types import EntryRequest, OpenExposure
from avd.services.trade.venues import Venues, refusal_of
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import OrderRecord, TradeRecord

D0 = Decimal(0)
QTY_Q = Decimal("1e-20")

ParamsSource = Callable[[int], Awaitable[BotParameters]]


class ClientLocks:
    """The in-process half of a client's entry guard (entries, sells and resets)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def __call__(self, client_id: int) -> asyncio.Lock:
        """The client's lock."""
        lock = self._locks.get(client_id)
        if lock is None:
            lock = self._locks[client_id] = asyncio.Lock()
        return lock


async def publish_rejected(
    hub: EventBus, client_id: int, order: TradeOrder, origin: str, exc: Refusal
) -> None:
    """Announce a refused order (:class:`~avd.domain.events.OrderRejected`)."""
    await hub.publish(
        OrderRejected(
            client_id=client_id,
            symbol=order.symbol,
            side=order.side,
            rule=exc.rule,
            detail=exc.detail,
            origin=origin,
        )
    )


class Entries:
    """Opens trades: the entry guard, sizing, booking the pending trade, placing its order."""

    def __init__(
        self,
        db: Database,
        hub: EventBus,
        gateway: ClientGateway,
        params: ParamsSource,
        venues: Venues,
        risk: RiskManager,
        orders: Orders,
        booking: Booking,
        positions: Positions,
        ids: OrderIds,
        locks: ClientLocks,
    ) -> None:
        self.db = db
        self.hub = hub
        self.gateway = gateway
        self.params = params
        self.venues = venues
        self.risk = risk
        self.orders = orders
        self.booking = booking
        self.positions = positions
        self.ids = ids
        self.locks = locks
        #: the market's levels, for level stops and targets (set by the runtime)
        self.levels: LevelsSource | None = None

    async def execute(
        self, client_id: int, order: TradeOrder, *, origin: str = "manual"
    ) -> TradeRecord:
        """Risk-check, size, persist and place an entry (a BUY).

        Raises
        ------
        Refusal
            The rule that refused it (announced as an ``OrderRejected`` too).
        """
        try:
            async with self.locks(client_id):
                return await self._execute(client_id, order, origin)
        except Refusal as exc:
            await publish_rejected(self.hub, client_id, order, origin, exc)
            raise

    async def venue(
        self, client_id: int, symbol: str
    ) -> tuple[BotParameters, Exchange, SymbolInfo]:
        """The client's parameters, the exchange of its mode, and the symbol."""
        params = await self.params(client_id)
        try:
            ex = await self.venues.exchange_for(client_id, params.mode)
            info = await self.venues.symbol(symbol)
        except ExchangeError as exc:
            raise refusal_of(exc) from None
        return params, ex, info

    async def _execute(self, client_id: int, order: TradeOrder, origin: str) -> TradeRecord:
        if order.side != "BUY":
            raise InvalidRequest(
                "spot_no_short", "spot holds no shorts: a SELL reduces or closes a holding"
            )
        params, ex, info = await self.venue(client_id, order.symbol)
        filters, mode = info.filters, params.mode
        self.venues.quoted_in_currency(info)
        if order.type == "LIMIT":
            if order.price is None:
                raise InvalidRequest("missing_price", "a LIMIT order needs a price")
            ref = filters.round_price(order.price, order.side)
        elif order.reference_price is not None:
            ref = filters.round_price(order.reference_price)
        else:
            ref = await self.venues.price_now(order.symbol, ex)
        stop = order.stop_loss
        distance: Decimal | None = None
        levels = await level_plan(
            self.levels,
            params.stops,
            order.symbol,
            order.interval,
            ref,
            None if stop is None else filters.round_price(stop),
            lambda p: filters.round_price(p, None, "down"),
        )
        if stop is None and levels.stop is not None:
            stop = levels.stop  # under the nearest support
        elif stop is None:
            pct = params.stops.stop_loss_percent or Decimal(2)
            distance = stop_distance(ref, pct, filters.tick_size)
            stop = ref - distance
        else:
            stop = filters.round_price(stop)
        if stop >= ref:
            raise InvalidRequest(
                "stop_loss_side",
                f"the stop-loss {fmt(stop)} must be below the entry price {fmt(ref)} for a BUY",
            )
        qty: Decimal | None = None
        if order.quantity is not None:
            qty = order.quantity
        elif order.quote_amount is not None:
            qty = filters.round_qty((order.quote_amount / ref).quantize(QTY_Q, ROUND_DOWN))
        risk_pct = (
            order.risk_percent if order.risk_percent is not None else params.risk_per_trade_percent
        )
        await self.gateway.check_trade(client_id)
        equity = (await self.venues.valuation(client_id, mode)).equity
        try:
            bal = (await ex.balances()).get(info.quote)
        except ExchangeError as exc:
            raise refusal_of(exc) from None
        free = bal.free if bal is not None else D0
        try:
            self.risk.gate(client_id, mode, equity)
        finally:
            await self.booking.save_risk(client_id, if_changed=True)
        plan = plan_json(order, params)
        if levels.target_r is not None and order.take_profits is None:
            plan["take_profits"] = [[str(levels.target_r), "1"]]  # all out at the resistance
        if distance is not None:
            # a percent stop sits that far from the fill, not from ``ref``
            plan["stop_distance"] = str(distance)
        async with self.db.write() as s:
            await repo.lock_entries(s, client_id)
            held = await repo.held_exposure(s, client_id)
            if origin == "signal" and any(t.symbol == order.symbol for t in held):
                raise Conflict(
                    "position_open", f"the bot holds (or waits for) {order.symbol} already"
                )
            # a waiting market BUY has not paid yet: what it reserves is not free
            reserved = sum(
                (
                    t.exposure
                    for t in held
                    if t.status == "pending" and t.order_type == "MARKET" and t.mode == mode
                ),
                D0,
            )
            sized = self.risk.size(
                EntryRequest(
                    client_id=client_id,
                    symbol=order.symbol,
                    side=order.side,
                    entry=ref,
                    stop=stop,
                    filters=filters,
                    risk_percent=risk_pct,
                    quantity=qty,
                    leverage=order.leverage,
                    max_open_positions=params.max_open_positions,
                    cash=max(free - reserved, D0),
                ),
                equity,
                [OpenExposure(t.symbol, t.exposure) for t in held],
            )
            trade = await repo.add_trade(
                s,
                TradeRecord(
                    client_id=client_id,
                    symbol=order.symbol,
                    side=order.side,
                    mode=mode,
                    origin=origin,
                    status="pending",
                    order_type=order.type,
                    requested_quantity=repo.q8(sized.quantity),
                    limit_price=ref if order.type == "LIMIT" else None,
                    initial_stop=stop,
                    stop_loss=stop,
                    plan=json.dumps(plan),
                    exposure=repo.q8(sized.notional),
                ),
            )
            cid = self.ids.oid(client_id, trade.id, "e")
            await repo.add_order(
                s,
                OrderRecord(
                    trade_id=trade.id,
                    client_order_id=cid,
                    purpose="entry",
                    symbol=order.symbol,
                    side=order.side,
                    type=order.type,
                    status="PENDING_NEW",
                    quantity=repo.q8(sized.quantity),
                    price=ref if order.type == "LIMIT" else None,
                    after_ms=order.after_ms if order.type == "MARKET" else None,
                ),
            )
            await repo.log(s, trade.id, "requested", origin=origin, quantity=fmt(sized.quantity))
        self.positions.hold(trade.id, client_id, order.symbol, sized.notional)
        return await self._place(
            trade,
            ex,
            OrderRequest(
                symbol=order.symbol,
                side=order.side,
                type=order.type,
                quantity=sized.quantity,
                price=ref if order.type == "LIMIT" else None,
                client_order_id=cid,
                after_ms=order.after_ms if order.type == "MARKET" else None,
            ),
        )

    async def _place(self, trade: TradeRecord, ex: Exchange, req: OrderRequest) -> TradeRecord:
        """Send the booked trade's entry order; a refusal marks the trade rejected."""
        try:
            report = await ex.place_order(req)
        except ExchangeError as exc:
            self.positions.release(trade.id)
            async with self.db.write() as s:
                t = await repo.get_trade(s, trade.id)
                o = await repo.order_by_cid(s, req.client_order_id)
                assert t is not None and o is not None
                t.status = "rejected"
                t.note = exc.message
                t.exposure = D0
                o.status = "REJECTED"
                o.flag = exc.message
                await repo.log(s, trade.id, "rejected", rule=exc.rule, detail=exc.message)
            raise refusal_of(exc) from None
        return await self.orders.apply_report(trade.id, report)
