"""The platform in one process.

Simulator (the offline default) or Binance, collector, market engine, the
services' REST routes and the event recorder.

:class:`Platform` wires the parts on one uvloop event loop; ``avd run`` and
``make run`` start it from :class:`PlatformSettings` (shipped defaults,
overridable by a JSON file and ``AVD_*`` environment variables; see
:mod:`avd.runtime.settings`). Where the candles come from is
:mod:`avd.runtime.market_source`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

import avd
from avd import _core
from avd.engine import EngineConfig, load_engine_config
from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator.server import BackgroundSimulator
from avd.logs import setup_logging
from avd.paths import data_dir
from avd.runtime.bus import InProcessTransport, RedisTransport, transport
from avd.runtime.hub import EventHub
from avd.runtime.market_source import MarketSource
from avd.runtime.recorder import Recorder
from avd.runtime.replay_start import ReplayPlan
from avd.runtime.settings import PlatformSettings, settings_summary
from avd.runtime.standalone import service_for as trade_service
from avd.runtime.timers import PeriodicTimer
from avd.services.client.app import mount as client_routes
from avd.services.client.service import ClientService
from avd.services.market.book_keeper import BookKeeper
from avd.services.market.candle_history import (
    CandleHistory,
    MemoryCandleHistory,
    WriteBehindHistory,
)
from avd.services.market.collector import MarketDataCollector
from avd.services.market.levels import levels_of
from avd.services.market.long_short import LongShort, MemoryLongShortStore
from avd.services.market.routes import routes as market_routes
from avd.services.market.scanner import ranked
from avd.services.market.service import MarketContext
from avd.services.market.settings import MarketSection
from avd.services.trade.routes import routes as trade_routes
from avd.services.trade.service import TradeService
from avd.services.trade.stops import dec
from avd.store.candles import SqlCandleHistory
from avd.store.database import Database
from avd.store.long_short import SqlLongShortStore
from avd.web.errors import EXCEPTION_HANDLERS
from avd.web.openapi import openapi_route
from avd.web.server import Server
from avd.web.server import config as server_config
from avd.web.service_token import service_token
from avd.web.startup import StartupFailure, StartupGuard
from avd.web.streams import Streams

# the settings were defined here first: still importable from here
__all__ = ["MarketSection", "Platform", "PlatformSettings", "settings_summary"]

log = logging.getLogger(__name__)


#: the scanner refreshes this long after each candle closes (its candles are in by then)
SCANNER_OFFSET_S = 3.0


class Platform:
    """Everything ``avd run`` starts, on one event loop."""

    def __init__(self, settings: PlatformSettings, *, client: bool = True) -> None:
        """``client=False`` runs the MarketContext service alone (``avd serve market``)."""
        self.settings = settings
        self.folder = data_dir(settings.data_dir)
        self.hub = EventHub()
        engine_cfg: EngineConfig = load_engine_config(dict(settings.market.engine))
        self.market = MarketContext(
            self.hub, engine_cfg, regimes=settings.market.regimes, scanner=settings.market.scanner
        )
        client_settings = settings.client
        if client_settings.data_dir is None:
            client_settings = client_settings.model_copy(update={"data_dir": self.folder})
        self.client = ClientService(client_settings) if client else None
        # one database for the platform: the client service's (SQLite in the
        # data folder unless a URL says otherwise); alone, the market service
        # opens the same default itself
        self.db = (
            self.client.db
            if self.client is not None
            else Database(client_settings.resolved_database_url())
        )
        # stored in the background: the collector never waits for the database
        self.history_writer = WriteBehindHistory(
            SqlCandleHistory(self.db) if settings.persist_candles else MemoryCandleHistory()
        )
        self.history: CandleHistory = self.history_writer
        #: long/short ratios (polled when market.long_short.enabled), stored beside the candles
        self.long_short = LongShort(
            settings.market.long_short,
            SqlLongShortStore(self.db) if settings.persist_candles else MemoryLongShortStore(),
        )
        # Binance counts REST weight per IP: one budget for every client of the process
        self.limiter = RestLimiter(settings.rest_weight_per_minute)
        self.source = MarketSource(
            settings, self.hub, self.history, self.limiter, self.market.on_history
        )
        self.trade: TradeService | None = (
            trade_service(
                self.hub,
                self.client,
                settings.exchange,
                self.source.sim_address,
                settings.trade,
                limiter=self.limiter,
            )
            if self.client is not None
            else None
        )
        if self.client is not None:  # client changes reach the trade engine on the hub
            self.client.ctx.bus = self.hub
        if self.trade is not None:  # scanner:N bots and level stops read the market in process
            self.trade.engine.signals.scanner = self._scanner_top
            self.trade.engine.entries.levels = self._levels
        self.collector: MarketDataCollector | None = None
        self.recorder: Recorder | None = None
        #: the events to the other processes: Redis Streams with a bus, else none
        self.bus: InProcessTransport | RedisTransport = transport(
            self.hub,
            settings.bus,
            publish=("market", "trade", "client") if self.trade is not None else ("market",),
            group="market",
        )
        # one line of health in the log just after every minute's candles close
        self.health_timer = PeriodicTimer(
            "health-log", 60.0, self._log_health, align=True, offset_s=2.0
        )
        #: the scanner's refresh per tracked interval, just after each candle closes
        self.scanner_timers: list[PeriodicTimer] = []
        #: the live WebSocket streams, closed when the server stops
        self.streams = Streams()
        self._server: uvicorn.Server | None = None
        #: why the platform did not start, for ``avd run`` to print in one line
        self.startup_failure = StartupFailure()

    # -- parts ---------------------------------------------------------------------

    @property
    def simulator(self) -> BackgroundSimulator | None:
        """The in-process simulator, once started."""
        return self.source.simulator

    @property
    def replay(self) -> ReplayPlan | None:
        """What the simulator replays and from when (set by :meth:`start`)."""
        return self.source.replay

    def _collector(self) -> MarketDataCollector:
        return self.source.collector()

    def routes(self) -> list[BaseRoute]:
        """Every service's routes on the one port."""
        own: list[BaseRoute] = [
            *market_routes(
                self.market,
                self.hub,
                self,
                self.history,
                self.streams,
                service_token(self.folder),
                self.long_short,
                books=self._books,
            )
        ]
        if self.client is not None:
            own.extend(client_routes(self.client))
        if self.trade is not None:
            own.extend(trade_routes(self.trade, self.streams))
        return [
            *own,
            openapi_route(
                "AVD",
                avd.__version__,
                lambda: own,
                description="The AVD platform, all services in one process.",
            ),
        ]

    def app(self) -> Starlette:
        """The all-in-one ASGI app (its lifespan starts and stops the platform)."""

        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        return Starlette(
            routes=self.routes(),
            exception_handlers=EXCEPTION_HANDLERS,
            lifespan=lifespan,
            middleware=[Middleware(StartupGuard, failure=self.startup_failure)],
        )

    async def _log_health(self) -> None:
        h = self.health()
        conns = h.get("connections", [])
        hub = self.hub.stats().get("market-context", {})
        log.info(
            "health: %d/%d connections up, %d reconnects, %d klines processed, "
            "engine queue %s, max lag %.1f ms",
            sum(1 for c in conns if c.get("connected")),
            len(conns),
            sum(c.get("reconnects", 0) for c in conns),
            self.market.klines_processed,
            hub.get("depth"),
            hub.get("max_lag_ms", 0.0),
        )

    def health(self) -> dict[str, Any]:
        """Stream health (per connection lag, last message, reconnects) and the exchange."""
        h = self.collector.health() if self.collector is not None else {"connections": []}
        return {**h, "exchange": self.settings.exchange, "bus": self.bus.health()}

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Start the hub, the client service, the exchange side and the collector.

        A failure stops what was started and is raised.
        """
        try:
            await self._start()
        except Exception:
            with contextlib.suppress(Exception):
                await self.stop()
            raise

    async def _start(self) -> None:
        if self.settings.record is not None:
            self.recorder = Recorder(self.hub, self.settings.record)
        self.hub.start()
        await self.bus.start()
        if self.client is not None:
            await self.client.start()  # applies the migrations too
        else:
            await self.db.upgrade()
        self.history_writer.start()
        # after the history is up: a restart resumes after the stored candles
        await self.source.prepare()
        self.collector = self._collector()
        await self.collector.start()
        if not self.long_short.symbols:  # what the collector tracks (selectors expanded)
            self.long_short.symbols = list(dict.fromkeys(s for s, _ in self.collector.streams))
        self.long_short.start(self.source.client_factory)
        self.health_timer.start()
        for interval in dict.fromkeys(i for _, i in self.collector.streams):
            timer = PeriodicTimer(
                f"scanner-{interval}",
                _core.interval_ms(interval) / 1000,
                functools.partial(self.refresh_scanner, interval),
                align=True,
                offset_s=SCANNER_OFFSET_S,
            )
            timer.start()
            self.scanner_timers.append(timer)
        if self.trade is not None:
            await self._seed_trade_prices()
            await self.trade.start(evaluated_candles=True)
        log.info(
            "platform up: %d streams, exchange %s",
            len(self.collector.streams),
            self.settings.exchange,
        )

    async def _seed_trade_prices(self) -> None:
        """Tell the trade engine the newest stored candle of every stream.

        A paper fill or a stop then never uses a price older than what the
        platform has already seen (see :meth:`TradeEngine.seed_candle`).
        """
        assert self.trade is not None and self.collector is not None
        for symbol, interval in list(self.collector.streams):
            last = await self.history.tail(symbol, interval, 1)
            if last is not None and len(last.open_time):
                self.trade.engine.seed_candle(
                    symbol, interval, int(last.open_time[-1]), dec(float(last.close[-1]))
                )

    async def stop(self) -> None:
        """Stop everything started, in reverse order.

        Nothing is left half-written: the candles still queued for the
        database are written, the recorder writes every event it was given,
        then the database is closed.
        """
        await self.health_timer.stop()
        for timer in self.scanner_timers:
            await timer.stop()
        await self.long_short.stop()
        if self.collector is not None:
            await self.collector.stop()
        await self.market.regimes.stop()
        if self.trade is not None:
            with contextlib.suppress(Exception):
                await self.trade.stop()
        try:
            await self.history_writer.stop()
        except Exception:
            log.exception("writing the last candles failed")
        if self.recorder is not None:
            # nothing publishes any more: what the recorder holds is all there is
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recorder.subscription.drained(), 10.0)
        if isinstance(self.bus, RedisTransport) and self.bus.connected.is_set():
            # what the market published reaches Redis before the process ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bus.flushed(), 5.0)
        await self.bus.stop()
        await self.hub.stop()
        if self.recorder is not None:
            self.recorder.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.stop()
        else:
            await self.db.dispose()
        self.source.stop()

    async def refresh_scanner(self, interval: str) -> None:
        """Rank ``interval``'s streams now (the scanner's candle-aligned timer).

        ``GET /scanner`` and ``scanner:N`` bots then read the rows ranked just
        after the candle closed; a request that comes after a newer candle
        closed than the rows know still ranks afresh (a replay faster than
        real time runs ahead of the wall-clock timer).
        """
        await ranked(self.market, self.history, interval, self._books())

    async def _scanner_top(self, interval: str, top: int) -> list[str]:
        """The market scanner's ranked symbols of ``interval`` (``scanner:N`` bots)."""
        rows, _ = await ranked(self.market, self.history, interval, self._books())
        return [str(r["symbol"]) for r in rows[:top]]

    def _books(self) -> BookKeeper | None:
        """The collector's live order books (None before it starts or without book symbols)."""
        return self.collector.books if self.collector is not None else None

    async def _levels(self, symbol: str, interval: str) -> dict[str, Any] | None:
        """The market's levels of a tracked stream (level stops and targets)."""
        if (symbol, interval) not in set(self.market.engine.streams()):
            return None
        return await levels_of(self.market, self.history, symbol, interval)

    @property
    def url(self) -> str:
        """Where this process answers, seen from itself (the bound port once it listens)."""
        port = self.settings.port
        server = self._server
        if server is not None and getattr(server, "servers", None):
            port = server.servers[0].sockets[0].getsockname()[1]
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    async def serve(self) -> None:
        """Serve the API (and run the platform) until interrupted."""
        s = self.settings
        setup_logging(self.folder / "logs" / "avd.jsonl", s.log_level)
        app = self.app()
        if s.dashboards and self.client is not None:
            if s.bus is not None:  # NiceGUI's storage in the bus's Redis
                from avd.ui.storage import use_redis

                use_redis(s.bus.url, s.bus.prefix)
            from avd.ui.app import mount
            from avd.ui.settings import ServiceUrls

            mount(app, lambda: ServiceUrls.together(self.url), self.folder)
        config = server_config(app, s.host, s.port, loop="none", log_level="warning")
        # SIGINT and SIGTERM: streams closed (1001), then this platform's stop
        self._server = Server(config, self.streams)
        await self._server.serve()
