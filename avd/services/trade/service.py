"""The TradeEngine service: the engine, how it reaches the market and the Client service.

Used by ``avd serve trade`` (alone: it polls prices when no market stream
feeds it) and by ``avd run`` (on the platform's hub, fed by its collector).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from avd.domain.bus import EventBus
from avd.domain.gateways import ClientGateway, Principal
from avd.exchange.binance import BinanceExchange
from avd.exchange.binance_wire import to_exchange_error
from avd.exchange.exchange import Exchange, ExchangeError, SymbolInfo
from avd.exchange.rest_limiter import RestLimiter
from avd.services.trade.engine import TradeEngine
from avd.services.trade.market_feed import MarketFeed
from avd.services.trade.settings import TradeEngineSettings
from avd.store.database import Database

log = logging.getLogger(__name__)

ClientFactory = Callable[..., Awaitable[Any]]


class MarketAccess:
    """Public market data over one python-binance client: symbols and prices.

    Every call goes through the process's REST weight limiter; a failure is
    an :class:`~avd.exchange.exchange.ExchangeError`.
    """

    def __init__(self, factory: ClientFactory, limiter: RestLimiter) -> None:
        self._factory = factory
        self.limiter = limiter
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def client(self) -> Any:
        """The (lazily created) client."""
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await self._factory()
                except Exception as exc:
                    raise to_exchange_error(exc) from None
            return self._client

    async def _rest(self, weight: int, what: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        c = await self.client()
        try:
            return await self.limiter.call(
                weight,
                lambda: call(c),
                headers=lambda: getattr(getattr(c, "response", None), "headers", None),
                what=what,
            )
        except Exception as exc:
            raise to_exchange_error(exc) from None

    async def symbol(self, symbol: str) -> SymbolInfo:
        """The symbol's assets and filters from exchangeInfo."""
        info = await self._rest(20, "exchangeInfo", lambda c: c.get_symbol_info(symbol))
        if not info:
            raise ExchangeError(f"invalid symbol {symbol}", code=-1121)
        return SymbolInfo.from_exchange_info(info)

    async def price(self, symbol: str) -> Decimal:
        """The latest price."""
        got = await self._rest(2, "ticker", lambda c: c.get_symbol_ticker(symbol=symbol))
        return Decimal(str(got["price"]))

    async def close(self) -> None:
        """Close the client."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.close_connection(), 2)
            self._client = None


class TradeService:
    """The trade engine with its authentication, market access and exchanges."""

    def __init__(
        self,
        hub: EventBus,
        gateway: ClientGateway,
        *,
        database_url: str,
        settings: TradeEngineSettings,
        market: MarketAccess,
        limiter: RestLimiter,
        live_client: Callable[[str | None, str | None], Awaitable[Any]] | None = None,
        socket_manager: Callable[[Any], Any] | None = None,
        live_uses_client_keys: bool = True,
    ) -> None:
        self.hub = hub
        self.market = market
        #: the process's REST weight limiter, shared by every exchange client
        self.limiter = limiter
        self.gateway = gateway
        self._live_client = live_client
        self._bsm = socket_manager
        self._client_keys = live_uses_client_keys
        self.db = Database(database_url)
        self.engine = TradeEngine(
            hub,
            self.db,
            self.gateway,
            params=gateway.parameters,
            bots=gateway.bots,
            symbols=market.symbol,
            live_exchange=self._live if live_client is not None else None,
            price_source=market.price,
            settings=settings,
        )
        self._poller: asyncio.Task[None] | None = None
        #: the market service's feed, when the services run apart
        self.market_feed: MarketFeed | None = None
        #: the event bus's health (Redis Streams), set by the runtime when one is configured
        self.bus_health: Callable[[], dict[str, Any]] | None = None

    async def health(self) -> dict[str, Any]:
        """The service's health: its links to the market and the Client service, what it holds.

        ``status`` is ``degraded`` while the market feed is down, the Client
        service did not answer the last call (open positions are still
        managed; new entries are refused with 503 until it answers) or, with
        trade workers, the leases could not be renewed in time. ``worker``:
        this worker's id and clients (see :mod:`avd.services.trade.leases`).
        """
        client = getattr(self.gateway, "health", None)
        client_health: dict[str, Any] | None = client() if callable(client) else None
        market = self.market_feed.health() if self.market_feed is not None else None
        bus = self.bus_health() if self.bus_health is not None else None
        degraded = (
            (client_health is not None and not client_health["reachable"])
            or (market is not None and not market["connected"])
            or (bus is not None and not bus["connected"])
        )
        leases = self.engine.leases
        degraded = degraded or leases.lapsed
        return {
            "bus": bus,
            "status": "degraded" if degraded else "ok",
            "positions": len(self.engine.monitor.positions),
            "fees_owed": await self.engine.fees.owed(),
            "client": client_health,
            "market": market,
            "hub": self.hub.stats(),
            "worker": {
                **leases.health(),
                "signals_traded": self.engine.signals.traded,
                "signals_waiting": len(self.engine.signals.waiting),
                "signals_expired": self.engine.signals.expired,
            },
        }

    async def _live(self, client_id: int) -> Exchange:
        assert self._live_client is not None
        factory = self._live_client
        key: str | None = None
        secret: str | None = None
        if self._client_keys:
            creds = await self.gateway.decrypt_api_secret(client_id)
            key, secret = creds.api_key, creds.api_secret

        async def create() -> Any:
            return await factory(key, secret)

        return BinanceExchange(create, self._bsm, mode="live", limiter=self.limiter)

    async def authenticate(self, token: str | None) -> Principal:
        """The client a bearer token belongs to (the Client service says)."""
        return await self.gateway.authenticate(token, "client")

    async def authenticate_admin(self, token: str | None) -> Principal:
        """An admin's token."""
        return await self.gateway.authenticate(token, "admin")

    async def start(
        self, *, poll_prices_s: float | None = None, evaluated_candles: bool = False
    ) -> None:
        """Start the engine (recovery); optionally poll prices when no stream feeds it.

        ``evaluated_candles``: a MarketContext shares the hub, so closed
        candles come from it, ordered with their signals (see
        :meth:`TradeEngine.subscribe`).
        """
        self.engine.subscribe(evaluated_candles=evaluated_candles)
        await self.engine.start()
        if poll_prices_s:
            self._poller = asyncio.create_task(self._poll(poll_prices_s), name="price-poller")

    async def _poll(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            symbols = {t.symbol for t in self.engine.monitor.positions.values()}
            for sym in symbols:
                try:
                    price = await self.market.price(sym)
                except Exception as exc:
                    log.warning("price poll %s: %s", sym, exc)
                    continue
                await self.engine.on_tick(sym, int(time.time() * 1000), price)

    async def stop(self) -> None:
        """Stop the market feed, the poller, the exchanges and the market client."""
        if self.market_feed is not None:
            await self.market_feed.stop()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.engine.stop()
        await self.market.close()
        await self.db.dispose()
