"""Where the trade engine trades, and at what price.

* the exchange of a client in a mode: its paper account (opened from the
  database, reset on request) or its live account (Binance or the
  simulator, through a factory);
* the symbols, as the exchange lists them (assets and filters, cached);
* prices: the market stream's (klines and ticks, with a guard against stale
  klines), a seeded candle after a restart, the price source's when the
  stream is old, and the marks that value an account;
* :func:`refusal_of`: an exchange failure on an API path as the refusal the
  API answers (never a bare 500).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from avd import _core
from avd.domain.errors import (
    Conflict,
    InvalidRequest,
    Refusal,
    Unavailable,
    UpstreamFailed,
)
from avd.domain.events import KlineReceived
from avd.exchange.binance import BinanceExchange
from avd.exchange.exchange import Exchange, ExchangeError, OrderListener, SymbolInfo
from avd.exchange.paper import PaperExchange
from avd.services.trade.accounts import Valuation, value_balances
from avd.services.trade.settings import TradeEngineSettings
from avd.services.trade.stops import dec
from avd.store import trades as repo
from avd.store.database import Database
from avd.trading import FillModel, SymbolFilters

log = logging.getLogger(__name__)

D0 = Decimal(0)

SymbolSource = Callable[[str], Awaitable[SymbolInfo]]
LiveFactory = Callable[[int], Awaitable[Exchange]]
PriceSource = Callable[[str], Awaitable[Decimal]]

#: Binance codes of an order that breaks the exchange's rules (balance, filters, symbol)
_INVALID = (-2010, -1013, -1121)


def refusal_of(exc: ExchangeError) -> Refusal:
    """An exchange failure as the refusal the API answers.

    The order's outcome is unknown (a timeout, a 5xx, a dropped connection)
    or the exchange turns requests away (429, 418): ``Unavailable`` (503)
    naming the exchange. The order breaks the exchange's rules (a filter,
    the balance, the symbol): ``InvalidRequest`` (422). Any other refusal of
    the exchange: ``UpstreamFailed`` (502).
    """
    if exc.status_unknown or exc.status in (429, 418):
        return Unavailable(exc.rule, exc.message, service="exchange")
    if exc.code in _INVALID or exc.rule.startswith("filter"):
        return InvalidRequest(exc.rule, exc.message)
    return UpstreamFailed(exc.rule, exc.message)


class Venues:
    """The exchanges of every client, the symbols and the prices."""

    def __init__(
        self,
        db: Database,
        settings: TradeEngineSettings,
        *,
        symbols: SymbolSource,
        live_exchange: LiveFactory | None = None,
        price_source: PriceSource | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self._symbol_source = symbols
        self._live_factory = live_exchange
        self._price_source = price_source
        self.paper: dict[int, PaperExchange] = {}
        self.live: dict[int, Exchange] = {}
        #: the symbols seen so far (shared with every paper exchange)
        self.symbols: dict[str, SymbolInfo] = {}
        self._prices: dict[str, tuple[int, Decimal]] = {}
        #: open time of the newest closed candle per (symbol, interval)
        self._closed_open: dict[tuple[str, str], int] = {}
        self._seen: dict[str, float] = {}
        #: symbols the price source does not know (no market price to mark them)
        self._unpriced: set[str] = set()
        self._orders: OrderListener | None = None
        self._reconnected: Callable[[int], Awaitable[None]] | None = None

    def listen(self, orders: OrderListener, reconnected: Callable[[int], Awaitable[None]]) -> None:
        """Where every exchange reports its orders, and what runs after a stream reconnect."""
        self._orders = orders
        self._reconnected = reconnected

    async def close(self) -> None:
        """Close the exchanges."""
        for ex in [*self.live.values(), *self.paper.values()]:
            try:
                await ex.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.exception("closing an exchange")

    # -- symbols ---------------------------------------------------------------------

    async def symbol(self, symbol: str) -> SymbolInfo:
        """The symbol as the exchange lists it (cached)."""
        got = self.symbols.get(symbol)
        if got is None:
            got = await self._symbol_source(symbol)
            self.symbols[symbol] = got
        return got

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's filters (cached)."""
        return (await self.symbol(symbol)).filters

    def quoted_in_currency(self, info: SymbolInfo) -> None:
        """Refuse a symbol not quoted in the account currency (the account is valued in it)."""
        currency = self.settings.account_currency
        if info.quote != currency:
            raise InvalidRequest(
                "quote_currency",
                f"{info.symbol} is quoted in {info.quote}; trading accounts are valued in "
                f"{currency}, so only {currency} pairs are traded",
            )

    # -- exchanges -------------------------------------------------------------------

    async def exchange_for(self, client_id: int, mode: str) -> Exchange:
        """The client's exchange: its paper account, or the live (simulator) account.

        Raises
        ------
        Conflict
            When live trading is not configured.
        ExchangeError
            When the live exchange cannot be reached.
        """
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
                ex = self.paper.get(client_id) or self.open_paper(client_id, start)
            return ex
        live = self.live.get(client_id)
        if live is None:
            if self._live_factory is None:
                raise Conflict("live_unavailable", "live trading is not configured")
            live = await self._live_factory(client_id)
            if self._orders is not None:
                live.on_order_update(self._orders)
            if isinstance(live, BinanceExchange) and self._reconnected is not None:
                reconnected = self._reconnected

                async def reconcile() -> None:
                    await reconnected(client_id)

                live.on_reconnect(reconcile)
            await live.start()
            self.live[client_id] = live
        return live

    def open_paper(self, client_id: int, balances: dict[str, Decimal]) -> PaperExchange:
        """Open (or open again, after a reset) the client's paper account with ``balances``."""
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
        ex.symbols = self.symbols
        for sym, (ts, px) in self._prices.items():
            ex.mark(sym, ts, px)
        if self._orders is not None:
            ex.on_order_update(self._orders)
        self.paper[client_id] = ex
        return ex

    async def reset_paper(self, client_id: int, balance: Decimal) -> None:
        """Replace the client's paper account by a new one holding ``balance``."""
        old = self.paper.pop(client_id, None)
        if old is not None:
            await old.close()
        self.open_paper(client_id, {self.settings.account_currency: repo.q8(balance)})

    # -- prices ----------------------------------------------------------------------

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

    def stale(self, ev: KlineReceived) -> bool:
        """A kline of a candle at or before the newest closed one of its stream."""
        key = (ev.symbol, ev.interval)
        newest = self._closed_open.get(key, -1)
        if ev.open_time <= newest:  # that candle has closed already
            return True
        if ev.closed:
            self._closed_open[key] = ev.open_time
        return False

    async def on_kline(self, ev: KlineReceived) -> None:
        """A (fresh) kline: its price, and the paper exchanges see it (fills)."""
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

    async def on_tick(self, symbol: str, ts: int, price: Decimal) -> None:
        """One price (from a poller, or the price source): the paper exchanges see it."""
        self._prices[symbol] = (ts, price)
        self._seen[symbol] = time.monotonic()
        for ex in list(self.paper.values()):
            await ex.on_price(symbol, ts, price)

    async def current_price(self, symbol: str, ex: Exchange) -> Decimal:
        """The stream's latest price, else the price source's, else the exchange's.

        Raises
        ------
        ExchangeError
            When no price can be had.
        """
        got = self.last_price(symbol)
        fresh = time.monotonic() - self._seen.get(symbol, 0.0) <= self.settings.price_max_age_s
        if got is not None and (fresh or self._price_source is None):
            return got
        if self._price_source is not None:
            price = await self._price_source(symbol)
            await self.on_tick(symbol, int(time.time() * 1000), price)
            return price
        return await ex.last_price(symbol)

    async def price_now(self, symbol: str, ex: Exchange) -> Decimal:
        """:meth:`current_price` for a request: no price is a refusal.

        A paper account without a market price yet is a 409; an exchange that
        fails answers as :func:`refusal_of` says.
        """
        try:
            return await self.current_price(symbol, ex)
        except ExchangeError as exc:
            if exc.rule == "no_market_price":
                raise Conflict(exc.rule, exc.message) from None
            raise refusal_of(exc) from None

    def last_price(self, symbol: str) -> Decimal | None:
        """The latest price seen on the stream."""
        got = self._prices.get(symbol)
        return None if got is None else got[1]

    def price_time(self, symbol: str, default: int | None = None) -> int:
        """When the latest price of ``symbol`` was seen (ms; ``default``, else now, if never)."""
        got = self._prices.get(symbol)
        if got is not None:
            return got[0]
        return default if default is not None else int(time.time() * 1000)

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
        """The client's trading account (paper or live) marked to market.

        Raises
        ------
        Unavailable
            When the account cannot be read.
        """
        try:
            ex = await self.exchange_for(client_id, mode)
            balances = await ex.balances()
        except ExchangeError as exc:
            raise Unavailable(
                "account_unavailable",
                f"the {mode} trading account cannot be read: {exc}",
                service="exchange",
            ) from None
        return await value_balances(balances, self.settings.account_currency, self.mark_price)
