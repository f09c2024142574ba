"""The TradeEngine: signals and manual requests become sized, risk-checked orders.

* ``SignalGenerated`` -> for each client whose bot is enabled and trades the
  symbol: a BUY opens a long (one position per symbol) sized from the
  client's risk per trade and stop rules at the signal's price; a SELL
  closes the client's longs in that symbol (spot holds no shorts). In paper
  mode these market orders fill at the first trade after the signal's
  candle closed (the next candle's open), as the backtester fills them.
* Klines and signals are taken on one queue, in the order the MarketContext
  produced them (:class:`~avd.domain.events.CandleEvaluated`, then the
  candle's signal): a candle's fills and stops happen before its signal is
  traded, the backtester's order.
* Manual trades come from the REST API (:meth:`TradeEngine.execute`).
* Every trade is persisted before its entry order is sent (the order's client
  order id derives from the trade id), with its orders, fills and history.
* Open positions are tracked by the :class:`~avd.services.trade.stops.StopMonitor`.
* On start (:meth:`TradeEngine.recover`) pending and open trades are
  reconciled with the exchange: an entry that filled while the platform was
  down is recorded, one the exchange no longer knows is flagged, a
  protective stop that filled is booked as the exit, and every remaining
  stop is restored into the tracker. Nothing is sent twice: each order is
  looked up by its client order id first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from avd import _core
from avd.domain.bus import EventBus
from avd.domain.events import (
    CandleEvaluated,
    Event,
    KlineReceived,
    OrderRejected,
    PartialExitTaken,
    SignalGenerated,
    TradeClosed,
    TradePlaced,
)
from avd.domain.gateways import ClientGateway, FeeCharge
from avd.domain.parameters import BotParameters
from avd.exceptions import InvalidParameterError
from avd.exchange.binance import BinanceExchange
from avd.exchange.exchange import (
    Exchange,
    ExchangeError,
    OrderFill,
    OrderReport,
    OrderRequest,
    client_order_id,
    split_symbol,
)
from avd.exchange.paper import PaperExchange
from avd.services.trade.accounts import (
    AccountView,
    PositionValue,
    Valuation,
    value_balances,
)
from avd.services.trade.risk import (
    EntryRequest,
    OpenExposure,
    RiskLimits,
    RiskManager,
    RiskRefusal,
    RiskStatus,
)
from avd.services.trade.stops import StopMonitor, Tracked, dec
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import OrderRecord, TradeRecord
from avd.store.money import utcnow
from avd.trading import FillModel, StopPlan, SymbolFilters
from avd.web.errors import ApiError

log = logging.getLogger(__name__)

D0 = Decimal(0)
QTY_Q = Decimal("1e-20")
HUNDRED = Decimal(100)


class TradeEngineSettings(BaseModel):
    """The trade engine's configuration (the ``trade`` section of ``avd run``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: where "live" clients trade: the simulator of ``avd run``, or Binance
    live_exchange: Literal["sim", "binance"] = "sim"
    risk: RiskLimits = Field(default_factory=lambda: RiskLimits())
    #: the currency trading accounts are valued in (symbols must be quoted in it)
    account_currency: str = Field("USDT", pattern=r"^[A-Z0-9]{2,10}$")
    #: what a new paper account starts with (a client may reset it to another balance)
    paper_starting_balance: Decimal = Field(Decimal(10000), gt=0, max_digits=20, decimal_places=8)
    paper_taker_bps: Decimal = Decimal(10)
    paper_maker_bps: Decimal = Decimal(10)
    paper_slippage_bps: Decimal = Decimal(0)
    #: paper orders of signals fill at the first price this long after the
    #: signal's candle close (the backtest's ``fills.latency_ms``)
    paper_latency_ms: int = Field(0, ge=0)
    protective_orders: bool = True
    stop_limit_offset_bps: Decimal = Decimal(50)
    #: how long the list of enabled bots is cached
    bots_cache_s: float = Field(10.0, ge=0)
    #: a stream price older than this is fetched again before an entry
    price_max_age_s: float = Field(10.0, gt=0)


class TradeRefused(Exception):  # noqa: N818 - the domain name
    """A refused trade: the HTTP status, the rule and a clear detail with the numbers."""

    def __init__(self, status: int, rule: str, detail: str, **numbers: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.status = status
        self.rule = rule
        self.detail = detail
        self.numbers = numbers


@dataclass(frozen=True)
class TradeOrder:
    """A trade to open (from the REST API or a signal)."""

    symbol: str
    side: str
    type: str = "MARKET"
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    risk_percent: Decimal | None = None
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profits: tuple[tuple[Decimal, Decimal], ...] | None = None
    trailing_percent: Decimal | None = None
    break_even_after_r: Decimal | None = None
    leverage: Decimal = Decimal(1)
    #: a signal's decision price (its candle close): sizing and a percent
    #: stop use it instead of the latest stream price
    reference_price: Decimal | None = None
    #: a signal's candle close (ms): a paper MARKET order fills at the first
    #: trade after it (see :attr:`~avd.exchange.exchange.OrderRequest.after_ms`)
    after_ms: int | None = None


@dataclass
class _Open:
    client_id: int
    symbol: str
    notional: Decimal


@dataclass(frozen=True)
class SellResult:
    """What a manual SELL did: how much it sold and the trades it reduced or closed."""

    symbol: str
    quantity: Decimal
    trades: list[TradeRecord]


@dataclass
class Reconciliation:
    """What the last reconciliation with the exchanges found."""

    at: float = 0.0
    recorded_fills: int = 0
    flagged: list[int] = field(default_factory=list)
    restored_stops: int = 0
    closed_while_down: list[int] = field(default_factory=list)
    unknown_open_orders: list[str] = field(default_factory=list)
    balances: dict[str, dict[str, str]] = field(default_factory=dict)


ExchangeFactory = Callable[[int, str], Awaitable[Exchange]]
FiltersSource = Callable[[str], Awaitable[SymbolFilters]]
ParamsSource = Callable[[int], Awaitable[BotParameters]]
BotsSource = Callable[[], Awaitable[list[tuple[int, BotParameters]]]]


def _s(v: Decimal | None) -> str:
    if v is None:
        return ""
    return f"{v.normalize():f}" if v != 0 else "0"


def plan_json(order: TradeOrder, params: BotParameters) -> dict[str, Any]:
    """The stop plan of a trade: the request's rules, else the client's."""
    st = params.stops
    tps = (
        [[str(r), str(f)] for r, f in order.take_profits]
        if order.take_profits is not None
        else [[str(t.r_multiple), str(t.fraction)] for t in st.take_profit]
    )
    trail = order.trailing_percent if order.trailing_percent is not None else st.trailing_percent
    be = order.break_even_after_r if order.break_even_after_r is not None else st.break_even_after_r
    return {
        "trail_pct": None if trail is None else str(trail),
        "breakeven_after_r": None if be is None else str(be),
        "chandelier_k": None
        if st.chandelier_atr_multiple is None
        else str(st.chandelier_atr_multiple),
        "time_stop_ms": None if st.time_stop_minutes is None else st.time_stop_minutes * 60_000,
        "take_profits": tps,
    }


def stop_distance(price: Decimal, percent: Decimal, tick: Decimal) -> Decimal:
    """``percent`` of ``price``, up to a whole tick: how far a percent stop sits.

    The backtester computes the same distance in integer ticks (see
    ``pct_distance`` in ``core/src/backtest/engine.rs``).
    """
    return (price * percent / HUNDRED / tick).to_integral_value(ROUND_CEILING) * tick


def plan_from_json(raw: str) -> StopPlan | None:
    """The :class:`StopPlan` stored with a trade."""
    d = json.loads(raw or "{}")
    tps = [(Decimal(r), Decimal(f)) for r, f in d.get("take_profits") or []]
    rules = ("trail_pct", "breakeven_after_r", "chandelier_k", "time_stop_ms")
    if not tps and not any(d.get(k) for k in rules):
        return None
    return StopPlan(
        trail_pct=Decimal(d["trail_pct"]) if d.get("trail_pct") else None,
        breakeven_after_r=Decimal(d["breakeven_after_r"]) if d.get("breakeven_after_r") else None,
        chandelier_k=Decimal(d["chandelier_k"]) if d.get("chandelier_k") else None,
        time_stop_ms=int(d["time_stop_ms"]) if d.get("time_stop_ms") else None,
        take_profits=tps or None,
    )


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
        filters: FiltersSource,
        live_exchange: Callable[[int], Awaitable[Exchange]] | None = None,
        price_source: Callable[[str], Awaitable[Decimal]] | None = None,
        settings: TradeEngineSettings | None = None,
    ) -> None:
        self.hub = hub
        self.db = db
        self.gateway = gateway
        self.settings = settings or TradeEngineSettings()
        self._params = params
        self._bots = bots
        self._filters_source = filters
        self._live_factory = live_exchange
        self._price_source = price_source
        self.risk = RiskManager(self.settings.risk)
        self.monitor = StopMonitor(
            hub,
            self,
            protective_orders=self.settings.protective_orders,
            stop_limit_offset_bps=self.settings.stop_limit_offset_bps,
        )
        self.paper: dict[int, PaperExchange] = {}
        self.live: dict[int, Exchange] = {}
        self._filters: dict[str, SymbolFilters] = {}
        self._open: dict[int, _Open] = {}
        self._close_reason: dict[int, str] = {}
        self._prices: dict[str, tuple[int, Decimal]] = {}
        #: open time of the newest closed candle per (symbol, interval)
        self._closed_open: dict[tuple[str, str], int] = {}
        self._seen: dict[str, float] = {}
        self._bots_cache: tuple[float, list[tuple[int, BotParameters]]] = (0.0, [])
        self._lock = asyncio.Lock()
        #: entries (and sells, resets) of one client are decided one at a time
        self._client_locks: dict[int, asyncio.Lock] = {}
        #: symbols the price source does not know (no market price to mark them)
        self._unpriced: set[str] = set()
        self.reconciliation = Reconciliation()
        self._started = False
        self._evaluated_candles = False
        #: paper exits of signals waiting for the next trade: trade id -> order id
        self._exit_orders: dict[int, str] = {}
        #: drawn once per database: part of every client order id
        self.namespace = ""

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
            "trade-engine", self._on_event, KlineReceived, CandleEvaluated, SignalGenerated
        )

    async def start(self) -> None:
        """Migrate the database, then recover and reconcile."""
        if self._started:
            return
        await self.db.upgrade()
        async with self.db.write() as s:
            self.namespace = await repo.namespace(s)
        await self.recover()
        self._started = True

    async def stop(self) -> None:
        """Close the exchanges."""
        for ex in [*self.live.values(), *self.paper.values()]:
            try:
                await ex.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.exception("closing an exchange")

    def oid(self, client_id: int, trade_id: int, leg: str) -> str:
        """The client order id of one leg of one trade (see :func:`client_order_id`)."""
        return client_order_id(client_id, trade_id, leg, self.namespace)

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's filters (cached)."""
        f = self._filters.get(symbol)
        if f is None:
            f = await self._filters_source(symbol)
            self._filters[symbol] = f
        return f

    async def exchange_for(self, client_id: int, mode: str) -> Exchange:
        """The client's exchange: its paper account, or the live (simulator) account."""
        if mode == "paper":
            ex = self.paper.get(client_id)
            if ex is None:
                async with self.db.write() as s:
                    row = await repo.ensure_paper_account(
                        s,
                        client_id,
                        currency=self.settings.account_currency,
                        starting_balance=self.settings.paper_starting_balance,
                    )
                    start = {row.currency: row.starting_balance}
                # another task may have opened it while this one read the row
                ex = self.paper.get(client_id) or self._new_paper(client_id, start)
            return ex
        live = self.live.get(client_id)
        if live is None:
            if self._live_factory is None:
                raise TradeRefused(409, "live_unavailable", "live trading is not configured")
            live = await self._live_factory(client_id)
            live.on_order_update(self._order_update)
            if isinstance(live, BinanceExchange):

                async def reconcile() -> None:
                    await self.reconcile_client(client_id)

                live.on_reconnect(reconcile)
            await live.start()
            self.live[client_id] = live
        return live

    def _new_paper(self, client_id: int, balances: dict[str, Decimal]) -> PaperExchange:
        s = self.settings
        ex = PaperExchange(
            {},
            balances,
            model=FillModel(
                taker_bps=s.paper_taker_bps,
                maker_bps=s.paper_maker_bps,
                slippage_bps=s.paper_slippage_bps or None,
                latency_ms=s.paper_latency_ms,
            ),
        )
        ex.filters = self._filters
        for sym, (ts, px) in self._prices.items():
            ex.mark(sym, ts, px)
        ex.on_order_update(self._order_update)
        self.paper[client_id] = ex
        return ex

    def client_lock(self, client_id: int) -> asyncio.Lock:
        """The in-process half of a client's entry guard (see :meth:`execute`)."""
        lock = self._client_locks.get(client_id)
        if lock is None:
            lock = self._client_locks[client_id] = asyncio.Lock()
        return lock

    async def _publish(self, event: Event) -> None:
        await self.hub.publish(event)

    # -- the market ------------------------------------------------------------------

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, KlineReceived):
            if not (event.closed and self._evaluated_candles):
                await self.on_kline(event)
        elif isinstance(event, CandleEvaluated):
            if self._evaluated_candles:
                await self.on_kline(event.kline)
        elif isinstance(event, SignalGenerated):
            await self.on_signal(event)

    def seed_candle(self, symbol: str, interval: str, open_time: int, close: Decimal) -> None:
        """The newest closed candle the platform holds of a stream (at start, from the store).

        Klines of that stream up to it are then ignored: a paper fill or a
        stop never uses a price older than the newest candle the platform
        has seen (a replay that starts over, a late duplicate).
        """
        key = (symbol, interval)
        if open_time <= self._closed_open.get(key, -1):
            return
        self._closed_open[key] = open_time
        close_time = _core.next_open_time(interval, open_time) - 1
        if close_time >= self._prices.get(symbol, (-1, D0))[0]:
            self._prices[symbol] = (close_time, close)
            for ex in self.paper.values():
                ex.mark(symbol, close_time, close)

    def _stale(self, ev: KlineReceived) -> bool:
        """A kline of a candle at or before the newest closed one of its stream."""
        key = (ev.symbol, ev.interval)
        newest = self._closed_open.get(key, -1)
        if ev.open_time <= newest:  # that candle has closed already
            return True
        if ev.closed:
            self._closed_open[key] = ev.open_time
        return False

    async def on_kline(self, ev: KlineReceived) -> None:
        """A kline: paper exchanges see it (fills), then the stops are updated."""
        if self._stale(ev):
            log.debug("ignored a stale kline %s %s %d", ev.symbol, ev.interval, ev.open_time)
            return
        price = dec(ev.close)
        close_time = _core.next_open_time(ev.interval, ev.open_time) - 1
        ts = close_time if ev.closed else (ev.event_time or ev.open_time)
        self._prices[ev.symbol] = (ts, price)
        self._seen[ev.symbol] = time.monotonic()
        if self.paper:
            candle = (dec(ev.open), dec(ev.high), dec(ev.low), price, dec(ev.volume))
            for ex in list(self.paper.values()):
                await ex.on_kline(
                    ev.symbol, ev.open_time, close_time, candle, closed=ev.closed, ts=ts
                )
        await self.monitor.on_kline(ev)

    async def on_tick(self, symbol: str, ts: int, price: Decimal) -> None:
        """One price (from a poller when no kline stream feeds the engine)."""
        self._prices[symbol] = (ts, price)
        self._seen[symbol] = time.monotonic()
        for ex in list(self.paper.values()):
            await ex.on_price(symbol, ts, price)
        await self.monitor.on_price(symbol, price, ts)

    async def current_price(self, symbol: str, ex: Exchange) -> Decimal:
        """The stream's latest price, else the price source's, else the exchange's."""
        got = self.last_price(symbol)
        fresh = time.monotonic() - self._seen.get(symbol, 0.0) <= self.settings.price_max_age_s
        if got is not None and (fresh or self._price_source is None):
            return got
        if self._price_source is not None:
            price = await self._price_source(symbol)
            ts = int(time.time() * 1000)
            self._prices[symbol] = (ts, price)
            self._seen[symbol] = time.monotonic()
            for p in list(self.paper.values()):
                await p.on_price(symbol, ts, price)
            return price
        return await ex.last_price(symbol)

    def last_price(self, symbol: str) -> Decimal | None:
        """The latest price seen on the stream."""
        got = self._prices.get(symbol)
        return None if got is None else got[1]

    # -- entries ---------------------------------------------------------------------

    def open_exposure(self, client_id: int) -> list[OpenExposure]:
        """The client's open (and pending) positions as exposure."""
        return [
            OpenExposure(o.symbol, o.notional)
            for o in self._open.values()
            if o.client_id == client_id
        ]

    async def execute(
        self, client_id: int, order: TradeOrder, *, origin: str = "manual"
    ) -> TradeRecord:
        """Risk-check, size, persist and place an entry (a BUY); raise :class:`TradeRefused`.

        Entries of one client are decided one at a time: an in-process lock
        per client, and inside it one database transaction that locks the
        client's row (:func:`~avd.store.trades.lock_entries`), reads the
        pending and open trades, sizes against them and books the new trade
        with the exposure it reserves. Concurrent requests, the bot's signals
        and another process sharing the database all see each other's
        reservations, so the caps and the position count hold.
        """
        try:
            async with self.client_lock(client_id):
                return await self._execute(client_id, order, origin)
        except TradeRefused as exc:
            await self._rejected(client_id, order, origin, exc)
            raise

    async def allowed(self, client_id: int) -> None:
        """The Client service's gate: a prepaid balance left, an account not blocked.

        Refusals keep the Client service's status (402 ``insufficient_balance``,
        403 ``account_blocked``, 503 when it cannot be reached).
        """
        try:
            await self.gateway.check_trade(client_id)
        except ApiError as exc:
            raise TradeRefused(exc.status, exc.error, exc.detail) from None

    async def _venue(
        self, client_id: int, symbol: str
    ) -> tuple[BotParameters, Exchange, SymbolFilters]:
        """The client's parameters, the exchange of its mode, and the symbol's filters."""
        params = await self._params(client_id)
        ex = await self.exchange_for(client_id, params.mode)
        try:
            filters = await self.filters(symbol)
        except ExchangeError as exc:
            raise TradeRefused(422, exc.rule, exc.message) from None
        return params, ex, filters

    async def _rejected(
        self, client_id: int, order: TradeOrder, origin: str, exc: TradeRefused
    ) -> None:
        await self._publish(
            OrderRejected(
                client_id=client_id,
                symbol=order.symbol,
                side=order.side,
                rule=exc.rule,
                detail=exc.detail,
                origin=origin,
            )
        )

    def _quote(self, symbol: str) -> str:
        """The symbol's quote asset, which must be the account currency."""
        quote = split_symbol(symbol)[1]
        currency = self.settings.account_currency
        if quote != currency:
            raise TradeRefused(
                422,
                "quote_currency",
                f"{symbol} is quoted in {quote}; trading accounts are valued in {currency}, "
                f"so only {currency} pairs are traded",
            )
        return quote

    async def _execute(self, client_id: int, order: TradeOrder, origin: str) -> TradeRecord:
        if order.side != "BUY":
            raise TradeRefused(
                422, "spot_no_short", "spot holds no shorts: a SELL reduces or closes a holding"
            )
        params, ex, filters = await self._venue(client_id, order.symbol)
        mode = params.mode
        quote = self._quote(order.symbol)
        if order.type == "LIMIT":
            if order.price is None:
                raise TradeRefused(422, "missing_price", "a LIMIT order needs a price")
            ref = filters.round_price(order.price, order.side)
        elif order.reference_price is not None:
            ref = filters.round_price(order.reference_price)
        else:
            try:
                ref = await self.current_price(order.symbol, ex)
            except ExchangeError as exc:
                raise TradeRefused(409, exc.rule, exc.message) from None
        stop = order.stop_loss
        distance: Decimal | None = None
        if stop is None:
            pct = params.stops.stop_loss_percent or Decimal(2)
            distance = stop_distance(ref, pct, filters.tick_size)
            stop = ref - distance
        else:
            stop = filters.round_price(stop)
        if stop >= ref:
            raise TradeRefused(
                422,
                "stop_loss_side",
                f"the stop-loss {_s(stop)} must be below the entry price {_s(ref)} for a BUY",
            )
        qty: Decimal | None = None
        if order.quantity is not None:
            qty = order.quantity
        elif order.quote_amount is not None:
            qty = filters.round_qty((order.quote_amount / ref).quantize(QTY_Q, ROUND_DOWN))
        risk_pct = (
            order.risk_percent if order.risk_percent is not None else params.risk_per_trade_percent
        )
        await self.allowed(client_id)
        equity = (await self.valuation(client_id, mode)).equity
        bal = (await ex.balances()).get(quote)
        free = bal.free if bal is not None else D0
        try:
            self.risk.gate(client_id, mode, equity)
        except RiskRefusal as exc:
            raise TradeRefused(422, exc.rule, exc.detail, **exc.numbers) from None
        finally:
            await self._save_risk(client_id, if_changed=True)
        plan = plan_json(order, params)
        if distance is not None:
            # a percent stop sits that far from the fill, not from ``ref``
            plan["stop_distance"] = str(distance)
        async with self.db.write() as s:
            await repo.lock_entries(s, client_id)
            held = await repo.held_exposure(s, client_id)
            if origin == "signal" and any(t.symbol == order.symbol for t in held):
                raise TradeRefused(
                    409, "position_open", f"the bot holds (or waits for) {order.symbol} already"
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
            try:
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
            except RiskRefusal as exc:
                raise TradeRefused(422, exc.rule, exc.detail, **exc.numbers) from None
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
            cid = self.oid(client_id, trade.id, "e")
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
                ),
            )
            await repo.log(s, trade.id, "requested", origin=origin, quantity=_s(sized.quantity))
        self._open[trade.id] = _Open(client_id, order.symbol, sized.notional)
        req = OrderRequest(
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            quantity=sized.quantity,
            price=ref if order.type == "LIMIT" else None,
            client_order_id=cid,
            after_ms=order.after_ms if order.type == "MARKET" else None,
        )
        try:
            report = await ex.place_order(req)
        except ExchangeError as exc:
            self._open.pop(trade.id, None)
            async with self.db.write() as s:
                t = await repo.get_trade(s, trade.id)
                o = await repo.order_by_cid(s, cid)
                assert t is not None and o is not None
                t.status = "rejected"
                t.note = exc.message
                t.exposure = D0
                o.status = "REJECTED"
                o.flag = exc.message
                await repo.log(s, trade.id, "rejected", rule=exc.rule, detail=exc.message)
            status = 422 if exc.code in (-2010, -1013) or exc.rule.startswith("filter") else 502
            if exc.status_unknown:
                status = 503
            raise TradeRefused(status, exc.rule, exc.message) from None
        return await self.apply_report(trade.id, report)

    # -- order updates ---------------------------------------------------------------

    async def _order_update(self, report: OrderReport) -> None:
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
            self._exit_orders.pop(o.trade_id, None)  # expired: the position stays

    async def _record_fill(self, s: Any, t: TradeRecord, o: OrderRecord, f: OrderFill) -> None:
        """Record one fill of an order once, and log it."""
        new = await repo.add_fill(
            s,
            o,
            exchange_trade_id=f.trade_id,
            price=f.price,
            qty=f.qty,
            commission=f.commission,
            commission_asset=f.commission_asset,
            ts=f.ts,
        )
        if new:
            log.info(
                "fill %s %s %s at %s",
                o.side,
                _s(f.qty),
                t.symbol,
                _s(f.price),
                extra={
                    "event": "fill",
                    "client_id": t.client_id,
                    "trade_id": t.id,
                    "mode": t.mode,
                    "client_order_id": o.client_order_id,
                    "purpose": o.purpose,
                    "symbol": t.symbol,
                    "side": o.side,
                    "price": _s(f.price),
                    "qty": _s(f.qty),
                    "commission": _s(f.commission),
                    "commission_asset": f.commission_asset,
                    "exchange_trade_id": f.trade_id,
                    "at_ms": f.ts,
                },
            )

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
        await self.exited(
            tracked,
            full.executed_qty,
            full.average_price,
            "stop_loss",
            full.time,
            full,
            True,
        )

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
                stop_price=_s(report.stop_price),
            )

    async def reconcile_client(self, client_id: int) -> None:
        """After the user data stream reconnected: catch up on what it may have missed."""
        async with self.db.read() as s:
            rows = await repo.trades_of(s, client_id, repo.OPEN_STATUSES, limit=100_000)
        for t in rows:
            try:
                ex = await self.exchange_for(client_id, t.mode)
                if ex.mode == "paper":
                    continue
                if t.status == "pending":
                    got = await ex.get_order(t.symbol, self.oid(client_id, t.id, "e"))
                    if got is not None:
                        await self.apply_report(t.id, got)
                elif (tr := self.monitor.positions.get(t.id)) is not None and tr.protective_id:
                    got = await ex.get_order(t.symbol, tr.protective_id)
                    if got is not None and got.status == "FILLED":
                        await self.stop_filled(t.id, got)
            except ExchangeError as exc:
                log.warning("reconciling trade %d: %s", t.id, exc.message)

    async def apply_report(self, trade_id: int, report: OrderReport) -> TradeRecord:
        """Record an entry order's state; open the position once it has filled."""
        async with self._lock:
            return await self._apply_report(trade_id, report)

    async def _apply_report(self, trade_id: int, report: OrderReport) -> TradeRecord:
        opened = False
        async with self.db.write() as s:
            t = await repo.get_trade(s, trade_id)
            o = await repo.order_by_cid(s, report.client_order_id)
            assert t is not None and o is not None
            o.status = report.status
            o.exchange_order_id = report.order_id or o.exchange_order_id
            o.executed_qty = repo.q8(report.executed_qty)
            o.cumulative_quote = repo.q8(report.cumulative_quote)
            o.updated_at = utcnow()
            base = split_symbol(t.symbol)[0]
            base_fee = D0
            for f in report.fills:
                await self._record_fill(s, t, o, f)
            quote_fee = D0
            for f in report.fills:
                if f.commission_asset == base and t.side == "BUY":
                    base_fee += f.commission
                elif t.symbol.endswith(f.commission_asset):
                    quote_fee += f.commission
            if (t.status == "pending" and report.status == "FILLED") or (
                t.status == "pending"
                and report.status in ("EXPIRED", "CANCELED")
                and report.executed_qty > 0
            ):
                filters = await self.filters(t.symbol)
                net = filters.round_qty(report.executed_qty - base_fee)
                t.quantity = net
                t.open_quantity = net
                t.entry_price = filters.round_price(report.average_price)
                t.status = "open"
                t.opened_ms = report.time or int(time.time() * 1000)
                # the entry's cost is its commission (in the base asset, valued
                # at the fill, or in the quote asset); what it leaves below the
                # lot step stays on the account as dust, marked at market
                t.realized_pnl = -repo.q8(base_fee * t.entry_price + quote_fee)
                t.exposure = repo.q8(net * t.entry_price)
                distance = json.loads(t.plan or "{}").get("stop_distance")
                if distance is not None:
                    sign = 1 if t.side == "BUY" else -1
                    t.initial_stop = t.stop_loss = t.entry_price - sign * Decimal(distance)
                await repo.log(
                    s,
                    t.id,
                    "opened",
                    quantity=_s(net),
                    entry_price=_s(t.entry_price),
                    executed=_s(report.executed_qty),
                )
                opened = True
            elif t.status == "pending" and report.status in ("CANCELED", "EXPIRED", "REJECTED"):
                t.status = "cancelled"
                t.exposure = D0
                await repo.log(s, t.id, "cancelled", status=report.status)
                self._open.pop(t.id, None)
        if opened:
            assert t.entry_price is not None
            self._open[t.id] = _Open(t.client_id, t.symbol, t.quantity * t.entry_price)
            # tracked at once; the protective order follows the announcement
            tracked = await self._track(t, protect=False)
            await self._publish(
                TradePlaced(
                    trade_id=t.id,
                    client_id=t.client_id,
                    symbol=t.symbol,
                    side=t.side,
                    quantity=_s(t.quantity),
                    entry_price=_s(t.entry_price),
                    stop_loss=_s(t.stop_loss),
                    mode=t.mode,
                    client_order_id=report.client_order_id,
                    origin=t.origin,
                )
            )
            await self.monitor.protect(tracked)
        return t

    async def _track(
        self, t: TradeRecord, *, restored: bool = False, protect: bool = True
    ) -> Tracked:
        assert t.entry_price is not None
        ex = await self.exchange_for(t.client_id, t.mode)
        tracked = Tracked(
            trade_id=t.id,
            client_id=t.client_id,
            symbol=t.symbol,
            side=t.side,
            exchange=ex,
            filters=await self.filters(t.symbol),
            stop_version=t.stop_version,
            namespace=self.namespace,
        )
        if restored and ex.mode != "paper" and self.settings.protective_orders:
            tracked.protective_id = self.oid(t.client_id, t.id, f"s{t.stop_version}")
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

    # -- the stop sink ---------------------------------------------------------------

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
            await repo.log(s, t.trade_id, "stop_moved", old=_s(old), new=_s(new), reason=reason)

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
        reason = self._close_reason.pop(t.trade_id, reason) if final else reason
        async with self.db.write() as s:
            row = await repo.get_trade(s, t.trade_id)
            if row is None or row.entry_price is None:
                return
            sign = 1 if row.side == "BUY" else -1
            pnl = repo.q8((price - row.entry_price) * qty * sign)
            fee = D0
            if report is not None:
                o = await repo.order_by_cid(s, report.client_order_id)
                if o is None:
                    o = await repo.add_order(
                        s,
                        OrderRecord(
                            trade_id=row.id,
                            client_order_id=report.client_order_id,
                            purpose="exit" if final else "partial",
                            symbol=row.symbol,
                            side=report.side,
                            type=report.type,
                            status=report.status,
                            quantity=repo.q8(report.orig_qty),
                        ),
                    )
                o.status = report.status
                o.exchange_order_id = report.order_id
                o.executed_qty = repo.q8(report.executed_qty)
                o.cumulative_quote = repo.q8(report.cumulative_quote)
                for f in report.fills:
                    await self._record_fill(s, row, o, f)
                    if row.symbol.endswith(f.commission_asset):
                        fee += f.commission
            pnl -= repo.q8(fee)
            row.realized_pnl += pnl
            row.open_quantity = max(row.open_quantity - qty, D0)
            row.exposure = repo.q8(row.open_quantity * row.entry_price)
            kind = "closed" if final else "partial_exit"
            await repo.log(
                s, row.id, kind, quantity=_s(qty), price=_s(price), reason=reason, pnl=_s(pnl)
            )
            if final:
                row.status = "closed"
                row.exit_price = repo.q8(price)
                row.close_reason = reason
                row.closed_at = utcnow()
                row.open_quantity = D0
                row.exposure = D0
            total_pnl = row.realized_pnl
            client_id, symbol, side, mode = row.client_id, row.symbol, row.side, row.mode
            entry = row.entry_price
            exposure = row.exposure
            # 1-based: this exit is already in the history (autoflush)
            level = sum(1 for h in await repo.history_of(s, row.id) if h.kind == "partial_exit")
            closed_qty = row.quantity
        if not final:
            held = self._open.get(t.trade_id)
            if held is not None:
                held.notional = exposure
            await self._publish(
                PartialExitTaken(
                    trade_id=t.trade_id,
                    client_id=client_id,
                    symbol=symbol,
                    level=level,
                    quantity=_s(qty),
                    price=_s(price),
                    ts=ts,
                )
            )
            return
        self._open.pop(t.trade_id, None)
        log.info(
            "trade %d closed (%s): %s %s, P&L %s",
            t.trade_id,
            reason,
            symbol,
            _s(closed_qty),
            _s(total_pnl),
            extra={
                "event": "trade_closed",
                "client_id": client_id,
                "trade_id": t.trade_id,
                "mode": mode,
                "symbol": symbol,
                "side": side,
                "reason": reason,
                "quantity": _s(closed_qty),
                "entry_price": _s(entry),
                "exit_price": _s(price),
                "pnl": _s(total_pnl),
                "at_ms": ts,
            },
        )
        waiting = self._exit_orders.pop(t.trade_id, None)
        if waiting is not None and (report is None or report.client_order_id != waiting):
            with contextlib.suppress(ExchangeError):
                await t.exchange.cancel_order(symbol, waiting)
        await self._publish(
            TradeClosed(
                trade_id=t.trade_id,
                client_id=client_id,
                symbol=symbol,
                side=side,
                reason=reason,
                quantity=_s(closed_qty),
                exit_price=_s(price),
                pnl=_s(total_pnl),
                ts=ts,
            )
        )
        try:
            equity = (await self.valuation(client_id, mode)).equity
        except TradeRefused as exc:
            log.warning("trade %d: account not valued after the close: %s", t.trade_id, exc)
        else:
            dd = self.risk.on_trade_closed(client_id, mode, total_pnl, equity)
            await self._save_risk(client_id)
            if dd is not None:
                await self._publish(dd)
        await self._charge_fee(t.trade_id, client_id, symbol, closed_qty * entry, total_pnl)

    async def _charge_fee(
        self, trade_id: int, client_id: int, symbol: str, notional: Decimal, pnl: Decimal
    ) -> None:
        """The platform fee on a closed trade, through the Client service (idempotent)."""
        ref = f"trade{self.namespace}-{trade_id}"
        try:
            charged = await self.gateway.charge_fee(
                FeeCharge(
                    client_id=client_id,
                    trade_ref=ref,
                    symbol=symbol,
                    notional=repo.q8(notional),
                    profit=repo.q8(pnl),
                )
            )
        except Exception as exc:  # the trade stays closed; the fee can be charged again
            log.warning("fee for trade %d not charged: %s", trade_id, exc)
            return
        async with self.db.write() as s:
            await repo.log(
                s, trade_id, "fee_charged", fee=_s(charged.charged), shortfall=_s(charged.shortfall)
            )

    async def _save_risk(self, client_id: int, *, if_changed: bool = False) -> None:
        st = self.risk.state(client_id)
        if if_changed and not st.dirty:
            return
        st.dirty = False
        async with self.db.write() as s:
            await repo.save_risk_state(
                s,
                client_id,
                peak_equity=st.peak_equity,
                blocked=st.blocked,
                blocked_reason=st.blocked_reason,
                mode=st.mode,
                day=st.day.isoformat() if st.day is not None else None,
                day_start_equity=st.day_start_equity or None,
            )

    # -- manual management -----------------------------------------------------------

    async def trade_of(self, client_id: int, trade_id: int) -> TradeRecord:
        """The client's trade, or 404 (another client's trade is not found either)."""
        async with self.db.read() as s:
            t = await repo.get_trade(s, trade_id)
        if t is None or t.client_id != client_id:
            raise TradeRefused(404, "not_found", f"no trade {trade_id} for this client")
        return t

    async def close(self, client_id: int, trade_id: int, *, reason: str = "manual") -> TradeRecord:
        """Close an open position at the market."""
        async with self.client_lock(client_id):
            return await self._close(client_id, trade_id, reason=reason)

    async def _close(self, client_id: int, trade_id: int, *, reason: str) -> TradeRecord:
        t = await self.trade_of(client_id, trade_id)
        if t.status != "open" or trade_id not in self.monitor.positions:
            raise TradeRefused(
                409, "not_open", f"trade {trade_id} is {t.status}: only an open trade closes"
            )
        ex = await self.exchange_for(client_id, t.mode)
        price = await self.current_price(t.symbol, ex)
        ts = self._prices.get(t.symbol, (int(time.time() * 1000), price))[0]
        self._close_reason[trade_id] = reason
        await self.monitor.close(trade_id, price, ts)
        return await self.trade_of(client_id, trade_id)

    async def sell(self, client_id: int, order: TradeOrder) -> SellResult:
        """A manual SELL: reduce or close the client's holding in the symbol (spot: no shorts).

        The client's open longs in the symbol (in its current mode) are sold
        first in, first out: each one sold whole is closed, the one sold in
        part keeps its stop and plan for the rest. ``quantity`` (or
        ``quote_amount`` at the market price) says how much; neither sells
        everything held. Nothing held, more than is held, or a rest below
        the symbol's minimums is refused, and nothing is written.
        """
        try:
            async with self.client_lock(client_id):
                return await self._sell(client_id, order)
        except TradeRefused as exc:
            await self._rejected(client_id, order, "manual", exc)
            raise

    async def _sell(self, client_id: int, order: TradeOrder) -> SellResult:
        if order.type != "MARKET":
            raise TradeRefused(
                422,
                "sell_market_only",
                "a SELL reduces or closes a holding at the market; "
                "set take-profit targets on the trade for a limit exit",
            )
        if order.risk_percent is not None:
            raise TradeRefused(
                422, "sell_size", "a SELL takes a quantity or a quote_amount (or neither: all)"
            )
        params, ex, filters = await self._venue(client_id, order.symbol)
        mode = params.mode
        async with self.db.read() as s:
            held = [
                t
                for t in await repo.held_exposure(s, client_id)
                if t.mode == mode
                and t.symbol == order.symbol
                and t.status == "open"
                and t.id in self.monitor.positions
            ]
        total = sum((t.open_quantity for t in held), D0)
        if not held or total <= 0:
            raise TradeRefused(
                409,
                "no_holding",
                f"nothing of {order.symbol} is held in the {mode} account to sell "
                "(spot trading holds no shorts)",
            )
        try:
            price = await self.current_price(order.symbol, ex)
        except ExchangeError as exc:
            raise TradeRefused(409, exc.rule, exc.message) from None
        if order.quantity is not None:
            want = filters.round_qty(order.quantity)
        elif order.quote_amount is not None:
            want = filters.round_qty((order.quote_amount / price).quantize(QTY_Q, ROUND_DOWN))
        else:
            want = total
        if want <= 0:
            raise TradeRefused(
                422, "quantity", "the quantity rounds to zero at the symbol's step size"
            )
        if want > total:
            raise TradeRefused(
                422,
                "sell_exceeds_holding",
                f"selling {_s(want)} {order.symbol} but {_s(total)} is held",
                requested=_s(want),
                held=_s(total),
            )
        # FIFO: whole trades first, then part of one
        plan: list[tuple[TradeRecord, Decimal]] = []
        left = want
        for t in held:
            if left <= 0:
                break
            take = min(left, t.open_quantity)
            plan.append((t, take))
            left -= take
        last, part = plan[-1]
        if part < last.open_quantity:
            rest = last.open_quantity - part
            for what, q in (("the sale", part), ("the rest", rest)):
                v = filters.check(price, q)
                if v is not None:
                    raise TradeRefused(
                        422,
                        "sell_leaves_dust",
                        f"{what} of trade {last.id} ({_s(q)} at {_s(price)}) breaks "
                        f"{v.filter} ({v.detail}); sell all {_s(total)} or a different amount",
                    )
        ts = self._prices.get(order.symbol, (int(time.time() * 1000), price))[0]
        done: list[int] = []
        for t, q in plan:
            if q == t.open_quantity:
                await self._close(client_id, t.id, reason="manual")
            else:
                async with self.db.read() as s:
                    n = sum(
                        1
                        for o in await repo.orders_of(s, t.id)
                        if o.client_order_id.rsplit("-", 1)[-1].startswith("m")
                    )
                await self.monitor.reduce(t.id, q, price, ts, leg=f"m{n + 1}")
            done.append(t.id)
        trades = [await self.trade_of(client_id, tid) for tid in done]
        return SellResult(order.symbol, want, trades)

    async def amend(
        self,
        client_id: int,
        trade_id: int,
        *,
        stop_loss: Decimal | None = None,
        take_profits: tuple[tuple[Decimal, Decimal], ...] | None = None,
    ) -> TradeRecord:
        """Move the stop and/or replace the take-profit targets of an open trade."""
        t = await self.trade_of(client_id, trade_id)
        if t.status != "open" or trade_id not in self.monitor.positions:
            raise TradeRefused(409, "not_open", f"trade {trade_id} is {t.status}")
        filters = await self.filters(t.symbol)
        ts = self._prices.get(t.symbol, (int(time.time() * 1000), D0))[0]
        if take_profits is not None:
            plan = json.loads(t.plan or "{}")
            plan["take_profits"] = [[str(r), str(f)] for r, f in take_profits]
            async with self.db.write() as s:
                row = await repo.get_trade(s, trade_id)
                assert row is not None
                row.plan = json.dumps(plan)
                await repo.log(s, trade_id, "targets_changed", take_profits=plan["take_profits"])
            tracked = self.monitor.positions.pop(trade_id)
            state = self.monitor.tracker.remove(trade_id)
            assert state is not None
            await self.monitor.add(
                tracked,
                entry=state.entry,
                stop=state.initial_stop,
                qty=state.qty,
                plan=plan_from_json(json.dumps(plan)),
                opened_at=state.opened_at,
                current_stop=state.stop,
            )
        if stop_loss is not None:
            new = filters.round_price(stop_loss)
            price = self.last_price(t.symbol)
            if price is not None and (
                (t.side == "BUY" and new >= price) or (t.side == "SELL" and new <= price)
            ):
                raise TradeRefused(
                    422,
                    "stop_loss_side",
                    f"the stop-loss {_s(new)} would trigger at once (price {_s(price)})",
                )
            try:
                await self.monitor.set_stop(trade_id, new, ts)
            except InvalidParameterError as exc:
                raise TradeRefused(
                    422,
                    "stop_loss_loosen",
                    f"a stop only moves in the position's favour: {exc}",
                ) from None
        return await self.trade_of(client_id, trade_id)

    async def kill_switch(self, active: bool, reason: str = "") -> list[int]:
        """Turn the kill switch on (close everything, stop entries) or off."""
        self.risk.set_kill_switch(active, reason)
        closed: list[int] = []
        if not active:
            return closed
        for trade_id, tr in list(self.monitor.positions.items()):
            try:
                await self.close(tr.client_id, trade_id, reason="kill_switch")
                closed.append(trade_id)
            except TradeRefused as exc:
                log.warning("kill switch: trade %d not closed: %s", trade_id, exc.detail)
        return closed

    async def trades(
        self, client_id: int, statuses: tuple[str, ...] | None, *, limit: int, offset: int
    ) -> list[TradeRecord]:
        """A client's trades, newest first."""
        async with self.db.read() as s:
            return await repo.trades_of(s, client_id, statuses, limit=limit, offset=offset)

    async def unblock(self, client_id: int | None) -> list[int]:
        """Lift the drawdown block (admin)."""
        done = self.risk.unblock(client_id)
        for cid in done:
            await self._save_risk(cid)
        return done

    async def risk_status(self, client_id: int) -> RiskStatus:
        """The client's risk state, against its trading account's equity now."""
        mode = (await self._params(client_id)).mode
        equity = (await self.valuation(client_id, mode)).equity
        status = self.risk.status(client_id, mode, equity, self.open_exposure(client_id))
        await self._save_risk(client_id, if_changed=True)
        return status

    # -- the trading account ---------------------------------------------------------

    async def mark_price(self, symbol: str) -> Decimal | None:
        """The market price of ``symbol`` (the stream's, else the price source's), if any."""
        got = self.last_price(symbol)
        if got is not None:
            return got
        if self._price_source is None or symbol in self._unpriced:
            return None
        try:
            return await self._price_source(symbol)
        except Exception:  # an asset with no market in the account currency
            self._unpriced.add(symbol)
            return None

    async def valuation(self, client_id: int, mode: str) -> Valuation:
        """The client's trading account (paper or live) marked to market."""
        ex = await self.exchange_for(client_id, mode)
        try:
            balances = await ex.balances()
        except ExchangeError as exc:
            raise TradeRefused(
                503, "account_unavailable", f"the {mode} trading account cannot be read: {exc}"
            ) from None
        return await value_balances(balances, self.settings.account_currency, self.mark_price)

    async def account(self, client_id: int, mode: str | None = None) -> AccountView:
        """``GET /trades/account``: balances, equity, exposure, realized and unrealized P&L."""
        if mode is None:
            mode = (await self._params(client_id)).mode
        val = await self.valuation(client_id, mode)
        async with self.db.read() as s:
            paper = await repo.paper_account(s, client_id) if mode == "paper" else None
            since = paper.since_trade_id if paper is not None else 0
            realized = await repo.realized(s, client_id, mode=mode, after_trade_id=since)
            held = [t for t in await repo.held_exposure(s, client_id) if t.mode == mode]
        positions: list[PositionValue] = []
        unrealized = D0
        for t in held:
            if t.status != "open" or t.entry_price is None:
                continue
            price = await self.mark_price(t.symbol)
            pnl = None if price is None else (price - t.entry_price) * t.open_quantity
            unrealized += pnl or D0
            positions.append(
                PositionValue(t.id, t.symbol, t.open_quantity, t.entry_price, price, pnl)
            )
        return AccountView(
            client_id=client_id,
            mode=mode,
            currency=val.currency,
            equity=val.equity,
            balances=val.assets,
            unpriced=val.unpriced,
            positions=positions,
            open_exposure=sum((t.exposure for t in held), D0),
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            starting_balance=paper.starting_balance if paper is not None else None,
            reset_at=paper.reset_at.isoformat().replace("+00:00", "Z") if paper else None,
        )

    async def reset_paper_account(self, client_id: int, balance: Decimal) -> AccountView:
        """Start the client's paper account again from ``balance`` (account currency).

        Refused while a paper trade is open or pending (close it first): a
        reset never strands a position. The peak equity restarts too.
        """
        async with self.client_lock(client_id):
            async with self.db.write() as s:
                await repo.lock_entries(s, client_id)
                held = [t for t in await repo.held_exposure(s, client_id) if t.mode == "paper"]
                if held:
                    raise TradeRefused(
                        409,
                        "positions_open",
                        f"{len(held)} paper trade(s) are open or pending "
                        f"({', '.join(str(t.id) for t in held)}): close them before a reset",
                    )
                since = await repo.last_trade_id(s)
                await repo.save_paper_account(
                    s,
                    client_id,
                    currency=self.settings.account_currency,
                    starting_balance=balance,
                    since=since,
                )
            old = self.paper.pop(client_id, None)
            if old is not None:
                await old.close()
            self._new_paper(client_id, {self.settings.account_currency: repo.q8(balance)})
            st = self.risk.state(client_id)
            if st.mode == "paper":
                st.peak_equity = None
                st.day_start_equity = D0
            await self._save_risk(client_id)
        log.info(
            "paper account of client %d reset to %s %s",
            client_id,
            _s(balance),
            self.settings.account_currency,
            extra={"event": "paper_reset", "client_id": client_id, "balance": _s(balance)},
        )
        return await self.account(client_id, "paper")

    # -- automatic trading -----------------------------------------------------------

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Clients whose bot is enabled (cached briefly)."""
        at, cached = self._bots_cache
        if time.monotonic() - at > self.settings.bots_cache_s:
            cached = [(cid, p) for cid, p in await self._bots() if p.enabled]
            self._bots_cache = (time.monotonic(), cached)
        return cached

    async def on_signal(self, sig: SignalGenerated) -> None:
        """Trade a signal for every enabled bot that trades its symbol.

        A BUY opens a long unless the client already holds (or waits for)
        one in that symbol; a SELL closes the client's longs in it. Both go
        at the signal's price and, in paper mode, fill at the first trade
        after its candle closed.
        """
        reference = dec(sig.price)
        for client_id, params in await self.bots():
            if sig.symbol not in params.symbols:
                continue
            held = [
                trade_id
                for trade_id, o in self._open.items()
                if o.client_id == client_id and o.symbol == sig.symbol
            ]
            if sig.side == "SELL":
                for trade_id in held:
                    with contextlib.suppress(TradeRefused):
                        await self.close_on_signal(client_id, trade_id, sig.generated_at)
                continue
            if held:
                log.info("signal BUY %s for client %d: a position is open", sig.symbol, client_id)
                continue
            try:
                await self.execute(
                    client_id,
                    TradeOrder(
                        symbol=sig.symbol,
                        side="BUY",
                        type="MARKET",
                        reference_price=reference,
                        after_ms=sig.generated_at,
                    ),
                    origin="signal",
                )
            except TradeRefused as exc:
                log.info(
                    "signal %s %s for client %d refused: %s", sig.side, sig.symbol, client_id, exc
                )

    async def close_on_signal(self, client_id: int, trade_id: int, after_ms: int) -> None:
        """Close a position because of a signal.

        On an exchange: at the market now. On paper: a MARKET order that
        fills at the first trade after the signal's candle (as the
        backtester's ``exit_on_opposite``); the stops keep running until then.
        """
        t = await self.trade_of(client_id, trade_id)
        tracked = self.monitor.positions.get(trade_id)
        if t.status != "open" or tracked is None:
            raise TradeRefused(409, "not_open", f"trade {trade_id} is {t.status}")
        if not isinstance(tracked.exchange, PaperExchange):
            await self.close(client_id, trade_id, reason="signal")
            return
        if trade_id in self._exit_orders:
            return
        st = self.monitor.tracker.get(trade_id)
        assert st is not None
        cid = self.oid(client_id, trade_id, "x")
        async with self.db.write() as s:
            await repo.add_order(
                s,
                OrderRecord(
                    trade_id=trade_id,
                    client_order_id=cid,
                    purpose="exit",
                    symbol=t.symbol,
                    side=tracked.exit_side,
                    type="MARKET",
                    status="PENDING_NEW",
                    quantity=repo.q8(st.qty),
                ),
            )
            await repo.log(s, trade_id, "exit_requested", origin="signal")
        self._exit_orders[trade_id] = cid
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
            self._exit_orders.pop(trade_id, None)
            log.warning("trade %d: signal exit not placed: %s", trade_id, exc.message)

    async def _signal_exit_filled(self, trade_id: int, report: OrderReport) -> None:
        """A paper signal exit filled: that fill closes the position."""
        if self._exit_orders.get(trade_id) != report.client_order_id:
            return
        tracked = self.monitor.detach(trade_id)
        if tracked is None:
            return
        await self.exited(
            tracked,
            report.executed_qty,
            report.average_price,
            "signal",
            report.time,
            report,
            True,
        )

    # -- recovery --------------------------------------------------------------------

    async def recover(self) -> Reconciliation:
        """Restore open positions and stops; reconcile with the exchanges."""
        rec = Reconciliation(at=time.time())
        async with self.db.read() as s:
            active = await repo.trades_of(s, None, repo.OPEN_STATUSES, limit=100_000)
            clients = {t.client_id for t in active}
            states = {r.client_id: r for r in await repo.risk_states(s)}
            clients |= set(states)
            day = {
                c: await repo.realized(
                    s,
                    c,
                    repo.start_of_day(),
                    mode=states[c].mode if c in states else None,
                )
                for c in clients
            }
        for c in clients:
            st = states.get(c)
            self.risk.restore(
                c,
                day_pnl=day[c],
                peak_equity=st.peak_equity if st is not None else None,
                blocked=st.blocked if st is not None else False,
                blocked_reason=st.blocked_reason if st is not None else "",
                mode=st.mode if st is not None else None,
                day=date.fromisoformat(st.day) if st is not None and st.day else None,
                day_start_equity=st.day_start_equity if st is not None else None,
            )
        await self._restore_paper_accounts()
        for t in sorted(active, key=lambda t: t.id):
            try:
                await self._recover_trade(t, rec)
            except ExchangeError as exc:
                log.warning("recovery of trade %d: %s", t.id, exc.message)
        for cid, ex in self.live.items():
            try:
                opened = await ex.open_orders()
                known = {o.client_order_id for o in opened}
                async with self.db.read() as s:
                    for cid_ in known:
                        if (
                            cid_.startswith(f"avd-{cid}-")
                            and await repo.order_by_cid(s, cid_) is None
                        ):
                            rec.unknown_open_orders.append(cid_)
                bal = await ex.balances()
                rec.balances[str(cid)] = {a: _s(b.total) for a, b in bal.items() if b.total}
            except ExchangeError as exc:
                log.warning("reconciliation of client %d: %s", cid, exc.message)
        self.reconciliation = rec
        log.info(
            "trade engine recovered: %d stops restored, %d fills recorded, %d flagged",
            rec.restored_stops,
            rec.recorded_fills,
            len(rec.flagged),
        )
        return rec

    async def _restore_paper_accounts(self) -> None:
        """Rebuild each paper account: its starting balance, then the fills since its reset."""
        async with self.db.read() as s:
            since = {a.client_id: a.since_trade_id for a in await repo.paper_accounts(s)}
            rows = [t for t in await repo.trades_of(s, None, None, limit=10_000_000)]
            fills: list[tuple[int, str, str, Any]] = []
            for t in sorted(rows, key=lambda t: t.id):
                if t.mode != "paper" or t.id <= since.get(t.client_id, 0):
                    continue
                for o in await repo.orders_of(s, t.id):
                    fills += [
                        (t.client_id, t.symbol, o.side, f) for f in await repo.fills_of(s, o.id)
                    ]
        for client_id, symbol, side, f in fills:
            ex = await self.exchange_for(client_id, "paper")
            assert isinstance(ex, PaperExchange)
            ex.book(symbol, side, f.price, f.qty, f.commission, f.commission_asset)

    async def _recover_trade(self, t: TradeRecord, rec: Reconciliation) -> None:
        ex = await self.exchange_for(t.client_id, t.mode)
        entry_cid = self.oid(t.client_id, t.id, "e")
        if t.status == "pending":
            got = await ex.get_order(t.symbol, entry_cid)
            if got is None:
                async with self.db.write() as s:
                    row = await repo.get_trade(s, t.id)
                    o = await repo.order_by_cid(s, entry_cid)
                    assert row is not None
                    row.status = "flagged"
                    row.note = "the exchange does not know the entry order (never placed or lost)"
                    if o is not None:
                        o.flag = row.note
                    await repo.log(s, t.id, "flagged", detail=row.note)
                rec.flagged.append(t.id)
                return
            self._open[t.id] = _Open(
                t.client_id, t.symbol, t.requested_quantity * (got.price or D0)
            )
            if got.executed_qty > 0 and not got.fills and ex.mode != "paper":
                fills = [
                    f for f in await ex.trades_since(t.symbol, 0) if f.order_id == got.order_id
                ]
                got = replace(
                    got,
                    fills=tuple(
                        OrderFill(f.price, f.qty, f.commission, f.commission_asset, f.id, f.time)
                        for f in fills
                    ),
                )
                rec.recorded_fills += len(fills)
            row = await self.apply_report(t.id, got)
            if row.status == "open":
                rec.restored_stops += 1
            return
        # open: a protective stop that filled while down is the exit
        if ex.mode != "paper" and self.settings.protective_orders:
            stop_cid = self.oid(t.client_id, t.id, f"s{t.stop_version}")
            got = await ex.get_order(t.symbol, stop_cid)
            if got is not None and got.status == "FILLED":
                assert t.entry_price is not None
                self._open[t.id] = _Open(t.client_id, t.symbol, t.quantity * t.entry_price)
                tracked = Tracked(
                    t.id,
                    t.client_id,
                    t.symbol,
                    t.side,
                    ex,
                    await self.filters(t.symbol),
                    namespace=self.namespace,
                )
                await self.exited(
                    tracked, got.executed_qty, got.average_price, "stop_loss", got.time, got, True
                )
                rec.closed_while_down.append(t.id)
                return
        assert t.entry_price is not None
        self._open[t.id] = _Open(t.client_id, t.symbol, t.quantity * t.entry_price)
        await self._track(t, restored=True)
        rec.restored_stops += 1
