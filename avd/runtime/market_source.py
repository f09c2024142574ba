"""Where the platform's candles come from: a simulator it starts, one already running, or Binance.

:class:`MarketSource` plans the in-process simulator's replay (resuming after
the stored candles, see :mod:`avd.runtime.replay_start`) and starts it, or
asks a simulator at ``exchange_url`` what it replays, and builds the
:class:`~avd.services.market.collector.MarketDataCollector` that streams from
the chosen exchange.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from avd.exceptions import ConfigError
from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator.server import BackgroundSimulator
from avd.net import free_port
from avd.runtime.hub import EventHub
from avd.runtime.replay_start import ReplayPlan, plan_replay, report
from avd.runtime.settings import PlatformSettings
from avd.services.market.candle_history import CandleHistory
from avd.services.market.collector import CollectorSettings, HistorySink, MarketDataCollector
from avd.services.market.universe import LIVE_DEFAULT, is_selector

# the platform's logger: the records keep the name they always had
log = logging.getLogger("avd.runtime.platform")


class MarketSource:
    """The exchange side of the platform (``settings.exchange`` and ``exchange_url``)."""

    def __init__(
        self,
        settings: PlatformSettings,
        hub: EventHub,
        history: CandleHistory,
        limiter: RestLimiter,
        on_history: HistorySink,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.history = history
        self.limiter = limiter
        self._on_history = on_history
        self.simulator: BackgroundSimulator | None = None
        #: what a simulator at ``exchange_url`` replays (read at start)
        self._external_symbols: list[str] = []
        self._external_intervals: list[str] = ["1m"]
        #: what the simulator replays and from when (set by :meth:`prepare`)
        self.replay: ReplayPlan | None = None
        #: how the collector makes its python-binance client (set by :meth:`collector`);
        #: the long/short poller uses the same
        self.client_factory: Any = None

    def sim_address(self) -> str:
        """``host:port`` of the simulator (the one at ``exchange_url``, or the one started)."""
        url = self.settings.exchange_url
        if url is not None:
            return url.split("://", 1)[1].rstrip("/")
        if self.simulator is None:
            raise RuntimeError("the simulator is not running")
        return self.simulator.address

    async def prepare(self) -> None:
        """Learn what a running simulator replays, or plan the in-process replay.

        Call it once the candle history is up: a restart resumes after the
        stored candles.
        """
        if self.settings.exchange == "sim" and self.settings.exchange_url is not None:
            await self._external_replay()
        elif self.settings.exchange == "sim":
            self.replay = await self._plan_replay()

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
            # a selector (*USDT) picks among everything the data holds
            symbols=[] if any(map(is_selector, s.market.symbols)) else s.market.symbols,
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

    def collector(self) -> MarketDataCollector:
        """The collector of the configured exchange (starting the in-process simulator)."""
        s = self.settings
        if s.exchange == "sim" and s.exchange_url is not None:
            from avd.exchange.simulator.client import SimClient

            sim = SimClient(self.sim_address())
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

            # the live scanner's universe by default: every trading USDT pair
            symbols = s.market.symbols or list(LIVE_DEFAULT)
            client_factory = AsyncClient.create

            def bsm(client: Any, queue: int) -> Any:
                return BinanceSocketManager(client, max_queue_size=queue)

        intervals = s.market.intervals or (
            [self.replay.choice.interval] if self.replay is not None else self._external_intervals
        )
        self.client_factory = client_factory
        settings = CollectorSettings(
            symbols=symbols,
            intervals=intervals,
            warmup_bars=s.market.warmup_bars,
            silence_timeout_s=s.market.silence_timeout_s,
            max_streams_per_connection=s.market.max_streams_per_connection,
            shard=s.market.shard,
            book_symbols=s.market.book_symbols,
            book=s.market.book,
        )
        return MarketDataCollector(
            settings,
            self.hub,
            self.history,
            client_factory,
            bsm,
            on_history=self._on_history,
            limiter=self.limiter,
        )

    def stop(self) -> None:
        """Stop the in-process simulator, if one was started."""
        if self.simulator is not None:
            self.simulator.stop()
