"""The platform in one process.

Simulator (the offline default) or Binance, collector, market engine, the
services' REST routes and the event recorder.

:class:`Platform` wires the parts on one uvloop event loop; ``avd run`` and
``make run`` start it from :class:`PlatformSettings` (shipped defaults,
overridable by a JSON file and ``AVD_*`` environment variables).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

import avd
from avd.engine import EngineConfig, load_engine_config
from avd.exceptions import ConfigError
from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator.config import SimConfig
from avd.exchange.simulator.server import BackgroundSimulator
from avd.logs import setup_logging
from avd.net import free_port
from avd.paths import data_dir
from avd.runtime.hub import EventHub
from avd.runtime.recorder import Recorder
from avd.runtime.replay_start import ReplayPlan, plan_replay, report
from avd.runtime.standalone import service_for as trade_service
from avd.runtime.timers import PeriodicTimer
from avd.services.client.app import mount as client_routes
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.services.market.candle_history import (
    CandleHistory,
    MemoryCandleHistory,
    WriteBehindHistory,
)
from avd.services.market.collector import CollectorSettings, MarketDataCollector
from avd.services.market.routes import routes as market_routes
from avd.services.market.service import MarketContext
from avd.services.trade.routes import routes as trade_routes
from avd.services.trade.service import TradeService
from avd.services.trade.settings import TradeEngineSettings
from avd.services.trade.stops import dec
from avd.settings import ServiceSettings
from avd.store.candles import SqlCandleHistory
from avd.store.database import Database
from avd.web.errors import EXCEPTION_HANDLERS
from avd.web.openapi import openapi_route
from avd.web.server import Server
from avd.web.server import config as server_config
from avd.web.service_token import service_token
from avd.web.startup import StartupFailure, StartupGuard
from avd.web.streams import Streams

log = logging.getLogger(__name__)


class MarketSection(BaseModel):
    """What the MarketContext service tracks and how."""

    model_config = {"extra": "forbid", "frozen": True}

    #: symbols to track; empty = every symbol the simulator replays
    symbols: list[str] = Field(default_factory=list)
    #: kline intervals; [] = the replayed interval (simulator) or 1m (Binance)
    intervals: list[str] = Field(default_factory=list)
    #: the engine configuration (see the README's "Engine configuration")
    engine: dict[str, Any] = Field(default_factory=dict)
    warmup_bars: int = Field(300, ge=1, le=5000)
    silence_timeout_s: float = Field(30.0, gt=0)
    max_streams_per_connection: int = Field(200, ge=1, le=1024)


class PlatformSettings(ServiceSettings):
    """Settings of ``avd run`` (every value has a default)."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path | None = Field(None, description="default: $AVD_DATA_DIR or ./avd-data")
    #: "sim": the local simulator replaying candle files (offline); "binance": real Binance
    exchange: Literal["sim", "binance"] = "sim"
    log_level: str = "INFO"
    #: write every event as JSON lines into this folder
    record: Path | None = None
    market: MarketSection = Field(default_factory=MarketSection)
    sim: SimConfig = Field(default_factory=lambda: SimConfig(speed=10.0))
    #: keep closed candles in the database (else in memory only)
    persist_candles: bool = True
    #: port of the in-process simulator; 0 = a free port
    sim_port: int = Field(0, ge=0, le=65535)
    #: a simulator already running (``avd sim``), e.g. ``http://127.0.0.1:8765``:
    #: python-binance talks to it and no in-process simulator starts (the
    #: symbols and the interval are the ones it replays, unless given)
    exchange_url: str | None = Field(None, pattern=r"^https?://[^/\s]+/?$")
    #: Binance's REST weight budget per minute, per IP: one limiter for the
    #: process, shared by the collector and every exchange client
    rest_weight_per_minute: int = Field(6000, ge=1)
    client: ClientSettings = Field(default_factory=ClientSettings)
    #: the trade engine (paper trading by default)
    trade: TradeEngineSettings = Field(default_factory=TradeEngineSettings)


class Platform:
    """Everything ``avd run`` starts, on one event loop."""

    def __init__(self, settings: PlatformSettings, *, client: bool = True) -> None:
        """``client=False`` runs the MarketContext service alone (``avd serve market``)."""
        self.settings = settings
        self.folder = data_dir(settings.data_dir)
        self.hub = EventHub()
        engine_cfg: EngineConfig = load_engine_config(dict(settings.market.engine))
        self.market = MarketContext(self.hub, engine_cfg)
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
        # Binance counts REST weight per IP: one budget for every client of the process
        self.limiter = RestLimiter(settings.rest_weight_per_minute)
        self.trade: TradeService | None = (
            trade_service(
                self.hub,
                self.client,
                settings.exchange,
                self._sim_address,
                settings.trade,
                limiter=self.limiter,
            )
            if self.client is not None
            else None
        )
        self.simulator: BackgroundSimulator | None = None
        #: what a simulator at ``exchange_url`` replays (read at start)
        self._external_symbols: list[str] = []
        self._external_intervals: list[str] = ["1m"]
        #: what the simulator replays and from when (set by :meth:`start`)
        self.replay: ReplayPlan | None = None
        self.collector: MarketDataCollector | None = None
        self.recorder: Recorder | None = None
        # one line of health in the log just after every minute's candles close
        self.health_timer = PeriodicTimer(
            "health-log", 60.0, self._log_health, align=True, offset_s=2.0
        )
        #: the live WebSocket streams, closed when the server stops
        self.streams = Streams()
        self._server: uvicorn.Server | None = None
        #: why the platform did not start, for ``avd run`` to print in one line
        self.startup_failure = StartupFailure()

    # -- parts ---------------------------------------------------------------------

    def _sim_address(self) -> str:
        url = self.settings.exchange_url
        if url is not None:
            return url.split("://", 1)[1].rstrip("/")
        if self.simulator is None:
            raise RuntimeError("the simulator is not running")
        return self.simulator.address

    async def _external_replay(self) -> None:
        """What the running simulator at ``exchange_url`` replays (symbols, interval)."""
        url = str(self.settings.exchange_url).rstrip("/")
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                r = await http.get(f"{url}/sim/admin/state")
                r.raise_for_status()
                state = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConfigError(
                f"no simulator answers at {url} ({type(exc).__name__}): start `avd sim` first"
            ) from None
        self._external_symbols = list(state["symbols"])
        self._external_intervals = sorted(set(state.get("intervals", {}).values())) or ["1m"]
        log.info(
            "streaming from the simulator at %s: %s (%s)",
            url,
            ", ".join(self._external_symbols),
            ", ".join(self._external_intervals),
        )

    async def _plan_replay(self) -> ReplayPlan:
        s = self.settings
        plan = await plan_replay(
            s.sim,
            self.history,
            symbols=s.market.symbols,
            intervals=s.market.intervals,
            warmup_bars=s.market.warmup_bars,
        )
        report(plan)
        return plan

    def _start_simulator(self) -> str:
        assert self.replay is not None
        self.simulator = BackgroundSimulator(
            self.replay.config, port=self.settings.sim_port or free_port()
        ).start()
        log.info("simulator replaying on %s", self.simulator.address)
        return self.simulator.address

    def _collector(self) -> MarketDataCollector:
        s = self.settings
        if s.exchange == "sim" and s.exchange_url is not None:
            from avd.exchange.simulator.client import SimClient

            sim = SimClient(self._sim_address())
            symbols = s.market.symbols or self._external_symbols
            client_factory: Any = sim.create

            def bsm(client: Any, queue: int) -> Any:
                return sim.socket_manager(client, max_queue_size=queue)

        elif s.exchange == "sim":
            from avd.exchange.simulator.client import SimClient

            sim = SimClient(self._start_simulator())
            symbols = s.market.symbols or sorted(self.simulator.sim.market.symbols)  # type: ignore[union-attr]
            client_factory = sim.create

            def bsm(client: Any, queue: int) -> Any:
                return sim.socket_manager(client, max_queue_size=queue)

        else:
            from binance import AsyncClient, BinanceSocketManager

            if not s.market.symbols:
                raise ValueError("market.symbols must list the symbols to track on Binance")
            symbols = s.market.symbols
            client_factory = AsyncClient.create

            def bsm(client: Any, queue: int) -> Any:
                return BinanceSocketManager(client, max_queue_size=queue)

        intervals = s.market.intervals or (
            [self.replay.choice.interval] if self.replay is not None else self._external_intervals
        )
        settings = CollectorSettings(
            symbols=symbols,
            intervals=intervals,
            warmup_bars=s.market.warmup_bars,
            silence_timeout_s=s.market.silence_timeout_s,
            max_streams_per_connection=s.market.max_streams_per_connection,
        )
        return MarketDataCollector(
            settings,
            self.hub,
            self.history,
            client_factory,
            bsm,
            on_history=self.market.on_history,
            limiter=self.limiter,
        )

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
        """Stream health (per connection lag, last message, reconnects)."""
        return self.collector.health() if self.collector is not None else {"connections": []}

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
        if self.client is not None:
            await self.client.start()  # applies the migrations too
        else:
            await self.db.upgrade()
        self.history_writer.start()
        if self.settings.exchange == "sim" and self.settings.exchange_url is not None:
            await self._external_replay()
        elif self.settings.exchange == "sim":
            # after the history is up: a restart resumes after the stored candles
            self.replay = await self._plan_replay()
        self.collector = self._collector()
        await self.collector.start()
        self.health_timer.start()
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
        if self.collector is not None:
            await self.collector.stop()
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
        await self.hub.stop()
        if self.recorder is not None:
            self.recorder.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.stop()
        else:
            await self.db.dispose()
        if self.simulator is not None:
            self.simulator.stop()

    async def serve(self) -> None:
        """Serve the API (and run the platform) until interrupted."""
        s = self.settings
        setup_logging(self.folder / "logs" / "avd.jsonl", s.log_level)
        app = self.app()
        config = server_config(app, s.host, s.port, loop="none", log_level="warning")
        # SIGINT and SIGTERM: streams closed (1001), then this platform's stop
        self._server = Server(config, self.streams)
        await self._server.serve()


def settings_summary(settings: PlatformSettings) -> str:
    """One line per key setting, for the startup banner."""
    d = json.loads(settings.model_dump_json(exclude={"client"}))
    return json.dumps({k: d[k] for k in ("host", "port", "exchange", "market")}, indent=None)
