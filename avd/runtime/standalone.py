"""The services alone: how `avd serve trade` is wired (its settings, its app).

The trade service gets its market access and its Client service here: for
now the Client service runs in the same process on the same database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware

import avd
from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from avd.runtime.hub import EventHub
from avd.runtime.transports import LocalClientGateway
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.services.trade.routes import routes
from avd.services.trade.service import MarketAccess, TradeService
from avd.services.trade.settings import TradeEngineSettings
from avd.settings import ServiceSettings
from avd.web.errors import EXCEPTION_HANDLERS
from avd.web.openapi import openapi_route
from avd.web.startup import StartupFailure, StartupGuard
from avd.web.streams import Streams

TITLE = "AVD TradeEngine service"
DESCRIPTION = (
    "Sized, risk-checked trades (paper by default), stop tracking, risk status. "
    "Decimals are strings in and out (JSON numbers are refused); refusals name the rule and "
    "the numbers."
)


class TradeSettings(ServiceSettings):
    """Settings of ``avd serve trade``."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_TRADE_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=0, le=65535)
    data_dir: Path | None = Field(default=None, description="default: $AVD_DATA_DIR or ./avd-data")
    #: market data and live orders: a running simulator (``avd sim``) or Binance
    exchange: Literal["sim", "binance"] = "sim"
    sim_address: str = "127.0.0.1:8765"
    #: how often prices are polled for the open positions (no kline stream alone)
    poll_prices_s: float = Field(default=2.0, gt=0)
    #: Binance's REST weight budget per minute, per IP: one limiter for the process
    rest_weight_per_minute: int = Field(default=6000, ge=1)
    engine: TradeEngineSettings = Field(default_factory=TradeEngineSettings)
    #: the Client service's settings: same database and JWT secret (tokens verified in process)
    client: ClientSettings = Field(default_factory=ClientSettings)


def service_for(
    hub: EventHub,
    clients: ClientService,
    exchange: str,
    sim_address: str | Callable[[], str],
    engine: TradeEngineSettings,
    *,
    limiter: RestLimiter,
) -> TradeService:
    """A :class:`TradeService` whose market and live orders go to the simulator or Binance.

    ``sim_address`` may be a callable: ``avd run`` knows it only once its
    simulator has started. The trade service reaches ``clients`` through the
    in-process gateway and keeps its trades in the same database. Every REST
    call to the exchange (market data and every client's orders) goes
    through ``limiter``, the process's one weight budget.
    """
    gateway = LocalClientGateway(clients)
    database_url = clients.settings.resolved_database_url()
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


def create_app(settings: TradeSettings) -> Starlette:
    """The TradeEngine service alone: its routes and ``/openapi.json``."""
    client_settings = settings.client
    if client_settings.data_dir is None and settings.data_dir is not None:
        client_settings = client_settings.model_copy(update={"data_dir": settings.data_dir})
    clients = ClientService(client_settings)
    hub = EventHub()
    limiter = RestLimiter(settings.rest_weight_per_minute)
    svc = service_for(
        hub, clients, settings.exchange, settings.sim_address, settings.engine, limiter=limiter
    )
    streams = Streams()
    own = routes(svc, streams)
    failure = StartupFailure()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            await svc.start(poll_prices_s=settings.poll_prices_s)
        except Exception:
            # what started must stop, or its tasks keep the failed process alive
            with contextlib.suppress(Exception):
                await svc.stop()
                await hub.stop()
                await clients.stop()
            raise
        try:
            yield
        finally:
            await svc.stop()
            await hub.stop()
            await clients.stop()

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
