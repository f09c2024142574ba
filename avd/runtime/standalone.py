"""How the trade service is wired: with the others in one process, or alone.

* :func:`service_for`: in ``avd run`` (and the tests), the trade service
  reaches the Client service through the in-process gateway and shares its
  database; the MarketContext runs on the same hub.
* :func:`create_app` / :func:`serve_trade`: ``avd serve trade`` alone. It
  keeps its trades in its own database (``trade.db`` in its data folder, or
  a URL), reaches the Client service over REST
  (:class:`~avd.services.trade.remote.RestClientGateway`: bearer tokens
  verified here with the Client service's public keys) and takes the market
  service's feed (:class:`~avd.services.trade.market_feed.MarketFeed`), both
  with the service token. Without a market URL it polls the prices of its
  open positions from the exchange. With a bus (``--bus redis://...``) the
  market events come from Redis Streams instead (every market shard's), and
  its trade events go out there (:mod:`avd.runtime.bus`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

import avd
from avd.domain.gateways import ClientGateway
from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from avd.runtime.bus import InProcessTransport, RedisTransport, transport, worker_group
from avd.runtime.hub import EventHub
from avd.runtime.transports import LocalClientGateway
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.services.trade.market_feed import MarketFeed
from avd.services.trade.remote import RestClientGateway
from avd.services.trade.remote_scanner import RemoteLevels, RemoteScanner
from avd.services.trade.routes import health_route, routes
from avd.services.trade.service import MarketAccess, TradeService
from avd.services.trade.settings import TradeEngineSettings, TradeSettings
from avd.web.errors import EXCEPTION_HANDLERS
from avd.web.openapi import openapi_route
from avd.web.service_token import service_token
from avd.web.startup import StartupFailure, StartupGuard
from avd.web.streams import Streams

log = logging.getLogger(__name__)

TITLE = "AVD TradeEngine service"
DESCRIPTION = (
    "Sized, risk-checked trades (paper by default), stop tracking, risk status. "
    "Decimals are strings in and out (JSON numbers are refused); refusals name the rule and "
    "the numbers."
)


def service_for(
    hub: EventHub,
    clients: ClientService,
    exchange: str,
    sim_address: str | Callable[[], str],
    engine: TradeEngineSettings,
    *,
    limiter: RestLimiter,
) -> TradeService:
    """A :class:`TradeService` on ``clients`` in the same process (``avd run``).

    ``sim_address`` may be a callable: ``avd run`` knows it only once its
    simulator has started. The trade service reaches ``clients`` through the
    in-process gateway and keeps its trades in the same database. Every REST
    call to the exchange (market data and every client's orders) goes
    through ``limiter``, the process's one weight budget.
    """
    return trade_service(
        hub,
        LocalClientGateway(clients),
        clients.settings.resolved_database_url(),
        exchange,
        sim_address,
        engine,
        limiter=limiter,
    )


def trade_service(
    hub: EventHub,
    gateway: ClientGateway,
    database_url: str,
    exchange: str,
    sim_address: str | Callable[[], str],
    engine: TradeEngineSettings,
    *,
    limiter: RestLimiter,
) -> TradeService:
    """A :class:`TradeService` whose market and live orders go to the simulator or Binance."""
    if exchange == "sim":
        from avd.exchange.simulator.client import SimClient

        def addr() -> str:
            return sim_address if isinstance(sim_address, str) else sim_address()

        async def public() -> Any:
            return await SimClient(addr()).create()

        async def live(key: str | None, secret: str | None) -> Any:
            # the simulator has its own accounts: every client trades on the default one
            return await SimClient(addr()).create(DEFAULT_API_KEY, DEFAULT_API_SECRET)

        return TradeService(
            hub,
            gateway,
            database_url=database_url,
            settings=engine,
            market=MarketAccess(public, limiter),
            limiter=limiter,
            live_client=live,
            socket_manager=lambda c: SimClient(addr()).socket_manager(c, max_queue_size=1000),
            live_uses_client_keys=False,
        )
    from binance import AsyncClient, BinanceSocketManager

    async def public_b() -> Any:
        return await AsyncClient.create()

    async def live_b(key: str | None, secret: str | None) -> Any:
        return await AsyncClient.create(key, secret)

    return TradeService(
        hub,
        gateway,
        database_url=database_url,
        settings=engine,
        market=MarketAccess(public_b, limiter),
        limiter=limiter,
        live_client=live_b,
        socket_manager=lambda c: BinanceSocketManager(c, max_queue_size=1000),
    )


def trade_bus(hub: EventHub, settings: TradeSettings) -> InProcessTransport | RedisTransport:
    """The trade service's transport: trade events out; market and client events in.

    One group, ``trade``, for a trade service alone (several such processes
    would share the events). With trade workers (``engine.workers.leases``)
    every worker needs every market event, as each acts on its own clients:
    each reads in its own group, ``trade.<worker id>``
    (:func:`~avd.runtime.bus.worker_group`; ``bus.group`` overrides it),
    created afresh at each start.
    """
    workers = settings.engine.workers
    return transport(
        hub,
        settings.bus,
        publish=("trade",),
        consume=("market", "client") if settings.bus is not None else (),
        group=worker_group(workers.resolved_worker_id()) if workers.leases else "trade",
        resume=not workers.leases,
    )


def create_app(settings: TradeSettings) -> Starlette:
    """The TradeEngine service alone: its routes, ``/health`` and ``/openapi.json``."""
    hub = EventHub()
    limiter = RestLimiter(settings.rest_weight_per_minute)
    token = service_token(
        settings.resolved_data_dir(),
        settings.service_token.get_secret_value() if settings.service_token else None,
    )
    gateway = RestClientGateway(settings.client_url, token)
    svc = trade_service(
        hub,
        gateway,
        settings.resolved_database_url(),
        settings.exchange,
        settings.sim_address(),
        settings.engine,
        limiter=limiter,
    )
    # with a bus, the market events come from Redis Streams (every market shard),
    # and the trade events go out on it; without one, from the market's feed
    bus = trade_bus(hub, settings)
    svc.bus_health = bus.health if settings.bus is not None else None
    if settings.market_url is not None and settings.bus is None:
        svc.market_feed = MarketFeed(settings.market_url, token, hub)
    if settings.market_url is not None:
        svc.engine.signals.scanner = RemoteScanner(settings.market_url)
        svc.engine.entries.levels = RemoteLevels(settings.market_url)
    streams = Streams()
    own = [*routes(svc, streams), health_route(svc)]
    failure = StartupFailure()

    async def start() -> None:
        if not await gateway.warm_up():  # tokens verify from the first request on
            log.warning("the client service's keys are not known yet: %s", settings.client_url)
        if settings.bus is not None:
            # klines, evaluated candles and signals come in order from the bus
            await svc.start(evaluated_candles=True)
            await bus.start()
        elif svc.market_feed is not None:
            # klines, evaluated candles and signals come in order from the market service
            await svc.start(evaluated_candles=True)
            svc.market_feed.start()
        else:
            await svc.start(poll_prices_s=settings.poll_prices_s)

    async def stop() -> None:
        await bus.stop()  # what is read and not handled stays pending in Redis
        await svc.stop()
        await hub.stop()
        await gateway.aclose()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            await start()
        except Exception:
            # what started must stop, or its tasks keep the failed process alive
            with contextlib.suppress(Exception):
                await stop()
            raise
        try:
            yield
        finally:
            await stop()

    app = Starlette(
        routes=[*own, openapi_route(TITLE, avd.__version__, lambda: own, description=DESCRIPTION)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        middleware=[Middleware(StartupGuard, failure=failure)],
    )
    app.state.trade_service = svc
    #: closed by the server when it stops (see avd.web.server)
    app.state.streams = streams
    app.state.startup_failure = failure
    return app


def client_app(settings: ClientSettings) -> Starlette:
    """``avd serve client`` alone: with a bus, its client changes go out on it.

    Adds ``GET /health`` (the bus's state; ``degraded`` while Redis is away).
    """
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from avd.services.client.app import create_app as client_create_app

    svc = ClientService(settings)
    hub = EventHub()
    bus = transport(hub, settings.bus, publish=("client",), group="client")
    svc.ctx.bus = hub

    @asynccontextmanager
    async def around() -> AsyncIterator[None]:
        hub.start()
        await bus.start()
        try:
            yield
        finally:
            await bus.stop()
            await hub.stop()

    async def health(_: Request) -> JSONResponse:
        state = bus.health()
        return JSONResponse({"status": "ok" if state["connected"] else "degraded", "bus": state})

    app = client_create_app(settings, service=svc, around=around)
    app.router.routes.append(Route("/health", health, methods=["GET"]))
    return app


def serve_trade(config: Path | None, overrides: dict[str, Any]) -> None:
    """Start ``avd serve trade`` from its JSON config and the command-line overrides."""
    from avd.console import run_server
    from avd.exchange.preflight import check_binance_reachable
    from avd.net import check_port_free
    from avd.settings import load_settings
    from avd.web.server import run

    settings = load_settings(TradeSettings, config, **overrides)
    if settings.exchange == "binance":
        check_binance_reachable()
    check_port_free(settings.host, settings.port)
    app = create_app(settings)
    run_server(
        lambda: run(app, settings.host, settings.port, app.state.streams),
        app.state.startup_failure,
        "the TradeEngine service",
    )
