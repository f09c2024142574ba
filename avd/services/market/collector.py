"""The MarketDataCollector: Binance kline streams in, KlineReceived events out.

It talks to Binance (or the local simulator) through python-binance's
``AsyncClient`` and ``BinanceSocketManager`` and guarantees that downstream
sees **every closed candle exactly once and in order**:

* **Warm-up**: at start each stream is filled from the candle history, then
  only the missing tail is fetched over REST.
* **Gaps**: a closed candle (or an in-progress one) that opens later than the
  next expected open time means candles were missed (a reconnect, a dropped
  message): they are fetched over REST and published before the new one.
  Duplicates and stale klines are dropped.
* **Stream health**: a connection silent for ``silence_timeout_s`` is closed
  and reopened, and every connection is renewed after ``renew_after_s``
  (before Binance's 24-hour cut). python-binance's error dicts
  (``{"e": "error"}``) also cause a reopen, and its per-socket queue is made
  large enough not to overflow (an overflow stops a socket for good).
* Streams are spread over several connections when there are more than
  ``max_streams_per_connection``.
* Every REST call goes through the one :class:`RestLimiter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, field_validator

from avd import _core
from avd.domain.bus import EventBus
from avd.domain.events import GapDetected, KlineReceived, StreamStatusChanged
from avd.exchange.rest_limiter import RestLimiter
from avd.history import Candles, candles_from_klines
from avd.services.market.candle_history import CandleHistory

log = logging.getLogger(__name__)

KLINES_WEIGHT = 2
EXCHANGE_INFO_WEIGHT = 20
REST_PAGE = 1000

ClientFactory = Callable[[], Awaitable[Any]]
SocketManagerFactory = Callable[[Any, int], Any]
HistorySink = Callable[[Candles], Awaitable[None]]


class CollectorSettings(BaseModel):
    """What to collect and how to keep the connections healthy."""

    model_config = {"extra": "forbid", "frozen": True}

    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT"], min_length=1)
    intervals: list[str] = Field(default_factory=lambda: ["1m"], min_length=1)
    #: closed candles to warm each stream up with
    warmup_bars: int = Field(500, ge=1, le=5000)
    #: a connection silent this long is reopened
    silence_timeout_s: float = Field(30.0, gt=0)
    #: connections are renewed this often (Binance cuts at 24 h)
    renew_after_s: float = Field(23.5 * 3600, gt=0)
    #: Binance allows 1024 per connection; fewer keeps the stream URL short
    max_streams_per_connection: int = Field(200, ge=1, le=1024)
    #: python-binance's per-socket queue (100 by default, which overflows)
    socket_queue_size: int = Field(100_000, ge=100)
    rest_weight_per_minute: int = Field(6000, ge=1)
    reconnect_delay_s: float = Field(1.0, ge=0)

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not (s.isalnum() and s.isupper())]
        if bad:
            raise ValueError(f"not Binance symbols: {bad}")
        return v

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: list[str]) -> list[str]:
        for i in v:
            _core.interval_ms(i)  # raises a clear error for an unknown interval
        return v


@dataclass
class StreamState:
    """What the collector knows of one (symbol, interval) stream."""

    symbol: str
    interval: str
    last_closed: int | None = None
    published_closed: int = 0
    duplicates: int = 0
    backfilled: int = 0
    gaps: int = 0

    @property
    def name(self) -> str:
        """The stream name (``btcusdt@kline_1m``)."""
        return f"{self.symbol.lower()}@kline_{self.interval}"

    def expected_next(self) -> int | None:
        """Open time the next closed candle must have (None before warm-up)."""
        if self.last_closed is None:
            return None
        return _core.next_open_time(self.interval, self.last_closed)


@dataclass
class ConnectionHealth:
    """One websocket connection's health, for ``GET /health``."""

    streams: list[str]
    connected: bool = False
    connects: int = 0
    reconnects: int = 0
    last_message_at: float | None = None
    last_event_time: int | None = None
    lag_ms: float | None = None
    errors: list[str] = field(default_factory=list)


def kline_from_rest(symbol: str, interval: str, row: list[Any]) -> KlineReceived:
    """A closed kline from a REST ``klines`` row."""
    return KlineReceived(
        symbol=symbol,
        interval=interval,
        open_time=int(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
        quote_volume=float(row[7]),
        trades=float(row[8]),
        taker_buy_base=float(row[9]),
        closed=True,
        event_time=0,  # fetched, not streamed: no send time
    )


def kline_from_stream(data: dict[str, Any]) -> KlineReceived:
    """A kline from a websocket ``kline`` event."""
    k = data["k"]
    return KlineReceived(
        symbol=k["s"],
        interval=k["i"],
        open_time=int(k["t"]),
        open=float(k["o"]),
        high=float(k["h"]),
        low=float(k["l"]),
        close=float(k["c"]),
        volume=float(k["v"]),
        quote_volume=float(k["q"]),
        trades=float(k["n"]),
        taker_buy_base=float(k["V"]),
        closed=bool(k["x"]),
        event_time=int(data.get("E", 0)),
    )


class MarketDataCollector:
    """Feeds the hub with every closed candle once, in order, plus updates."""

    def __init__(
        self,
        settings: CollectorSettings,
        hub: EventBus,
        history: CandleHistory,
        client_factory: ClientFactory,
        socket_manager_factory: SocketManagerFactory,
        *,
        on_history: HistorySink | None = None,
        limiter: RestLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.history = history
        self._client_factory = client_factory
        self._bsm_factory = socket_manager_factory
        self._on_history = on_history
        self.limiter = limiter or RestLimiter(settings.rest_weight_per_minute)
        self.client: Any = None
        self.exchange_info: dict[str, dict[str, Any]] = {}
        self.streams: dict[tuple[str, str], StreamState] = {
            (s, i): StreamState(s, i) for s in settings.symbols for i in settings.intervals
        }
        self.connections: list[ConnectionHealth] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[Any]] = set()
        self._running = False
        self._locks: dict[tuple[str, str], asyncio.Lock] = {k: asyncio.Lock() for k in self.streams}
        self.ready = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Connect, load exchangeInfo, warm up, and open the streams."""
        self._running = True
        self.client = await self._client_factory()
        await self.load_exchange_info()
        for key in self.streams:
            await self.warm_up(*key)
        names = [st.name for st in self.streams.values()]
        size = self.settings.max_streams_per_connection
        for i in range(0, len(names), size):
            health = ConnectionHealth(names[i : i + size])
            self.connections.append(health)
            self._tasks.append(
                asyncio.create_task(self._connection(health), name=f"collector:{i // size}")
            )
        self.ready.set()

    async def stop(self) -> None:
        """Close the streams and the client."""
        self._running = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self._closing:
            _, pending = await asyncio.wait(self._closing, timeout=2.0)
            for t in pending:
                t.cancel()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close_connection()

    # -- REST --------------------------------------------------------------------

    async def _rest(self, weight: int, what: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        client = self.client
        return await self.limiter.call(
            weight,
            fn,
            headers=lambda: getattr(getattr(client, "response", None), "headers", None),
            what=what,
        )

    async def load_exchange_info(self) -> None:
        """Load symbols, status and filters; refuse unknown or halted symbols."""
        info = await self._rest(EXCHANGE_INFO_WEIGHT, "exchangeInfo", self.client.get_exchange_info)
        self.exchange_info = {s["symbol"]: s for s in info["symbols"]}
        for symbol in self.settings.symbols:
            s = self.exchange_info.get(symbol)
            if s is None:
                raise ValueError(f"{symbol} is not listed by the exchange")
            if s.get("status") != "TRADING":
                log.warning("%s is %s on the exchange", symbol, s.get("status"))

    async def fetch_closed(
        self, symbol: str, interval: str, start: int, end: int
    ) -> list[KlineReceived]:
        """Klines with ``start <= open_time <= end``, paging over REST.

        Every row is closed when ``end`` lies before the candle in progress
        (as in a backfill); callers asking up to "now" drop the last row,
        which may still be open.
        """
        out: list[KlineReceived] = []
        cursor = start
        while cursor <= end:

            async def page(cursor: int = cursor) -> Any:
                return await self.client.get_klines(
                    symbol=symbol, interval=interval, startTime=cursor, endTime=end, limit=REST_PAGE
                )

            rows = await self._rest(KLINES_WEIGHT, f"klines {symbol} {interval}", page)
            if not rows:
                break
            out.extend(kline_from_rest(symbol, interval, row) for row in rows if int(row[0]) <= end)
            if len(rows) < REST_PAGE:
                break
            cursor = _core.next_open_time(interval, int(rows[-1][0]))
        return out

    async def fetch_latest_closed(
        self, symbol: str, interval: str, limit: int
    ) -> list[KlineReceived]:
        """The newest ``limit`` closed klines.

        The last row of a "latest" query may be the candle still in progress
        (and the exchange's clock need not be ours: the simulator replays the
        past), so it is always dropped; if it was in fact closed, the gap
        logic fetches it before the next closed candle.
        """

        async def page() -> Any:
            return await self.client.get_klines(
                symbol=symbol, interval=interval, limit=min(limit + 1, REST_PAGE)
            )

        rows = await self._rest(KLINES_WEIGHT, f"klines {symbol} {interval}", page)
        return [kline_from_rest(symbol, interval, r) for r in rows[:-1]][-limit:]

    # -- warm-up and gaps --------------------------------------------------------

    async def warm_up(self, symbol: str, interval: str) -> None:
        """Fill a stream from history, then fetch only the missing tail."""
        st = self.streams[(symbol, interval)]
        stored = await self.history.tail(symbol, interval, self.settings.warmup_bars)
        if stored is not None and len(stored):
            if self._on_history is not None:
                await self._on_history(stored)
            st.last_closed = int(stored.open_time[-1])
            st.published_closed += len(stored)
            nxt = st.expected_next()
            assert nxt is not None
            # up to "now": the last row may still be open, drop it
            tail = (await self.fetch_closed(symbol, interval, nxt, 2**62))[:-1]
        else:
            tail = await self.fetch_latest_closed(symbol, interval, self.settings.warmup_bars)
        if tail:
            await self.history.append(tail)
            if self._on_history is not None:
                await self._on_history(candles_from_klines(symbol, interval, tail))
            st.last_closed = tail[-1].open_time
            st.published_closed += len(tail)
        log.info(
            "warmed up %s %s: %d stored, %d fetched",
            symbol,
            interval,
            0 if stored is None else len(stored),
            len(tail),
        )

    async def backfill(self, st: StreamState, upto_open_time: int) -> None:
        """Publish the closed candles missing before ``upto_open_time``."""
        start = st.expected_next()
        if start is None or start >= upto_open_time:
            return
        missing = await self.fetch_closed(st.symbol, st.interval, start, upto_open_time - 1)
        missing = [k for k in missing if st.last_closed is None or k.open_time > st.last_closed]
        expected_count = len(_open_times_between(st.interval, start, upto_open_time))
        if len(missing) < expected_count:
            st.gaps += 1
            await self.hub.publish(
                GapDetected(
                    symbol=st.symbol,
                    interval=st.interval,
                    first_missing=start,
                    missing=expected_count - len(missing),
                )
            )
        for k in missing:
            await self._publish_closed(st, k)
            st.backfilled += 1

    async def _publish_closed(self, st: StreamState, k: KlineReceived) -> None:
        await self.hub.publish(k)
        await self.history.append([k])
        st.last_closed = k.open_time
        st.published_closed += 1

    async def on_kline(self, k: KlineReceived) -> None:
        """Handle one streamed kline (public for tests and replays)."""
        st = self.streams.get((k.symbol, k.interval))
        if st is None:
            return
        async with self._locks[(k.symbol, k.interval)]:
            last = st.last_closed
            if k.closed:
                if last is not None and k.open_time <= last:
                    st.duplicates += 1
                    return
                await self.backfill(st, k.open_time)
                await self._publish_closed(st, k)
            else:
                if last is not None and k.open_time <= last:
                    return  # an update of a candle already closed
                await self.backfill(st, k.open_time)
                await self.hub.publish(k)

    # -- websockets --------------------------------------------------------------

    async def _connection(self, health: ConnectionHealth) -> None:
        while self._running:
            try:
                await self._read(health)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                health.errors = ([*health.errors, f"{type(exc).__name__}: {exc}"])[-10:]
                log.warning("stream connection failed (%s); reconnecting", exc)
            health.connected = False
            health.reconnects += 1
            await self.hub.publish(
                StreamStatusChanged(stream=",".join(health.streams[:3]), status="reconnecting")
            )
            await asyncio.sleep(self.settings.reconnect_delay_s)

    async def _read(self, health: ConnectionHealth) -> None:
        """Read one connection until it must be replaced (silence, renewal, dead loop).

        python-binance reconnects a dropped socket to the same URL by itself
        and reports it with error dicts; reading simply goes on, and the gap
        logic backfills what was missed meanwhile. Closing a socket can take
        python-binance ~10 s, so a replaced socket is closed in the background.
        """
        bsm = self._bsm_factory(self.client, self.settings.socket_queue_size)
        opened = time.monotonic()
        sock = bsm.multiplex_socket(health.streams)
        await sock.__aenter__()
        try:
            self._mark_connected(health)
            await self.hub.publish(StreamStatusChanged(stream=_label(health), status="connected"))
            while self._running:
                if time.monotonic() - opened > self.settings.renew_after_s:
                    log.info("renewing a stream connection before the 24 h cut")
                    return
                try:
                    # asyncio.timeout, not wait_for: no task per message
                    async with asyncio.timeout(self.settings.silence_timeout_s):
                        msg = await sock.recv()
                except TimeoutError:
                    log.warning(
                        "no message for %.0fs; reconnecting", self.settings.silence_timeout_s
                    )
                    return
                if not isinstance(msg, dict):
                    continue
                if msg.get("e") == "error":
                    health.errors = [*health.errors, f"{msg.get('type')}: {msg.get('m')}"][-10:]
                    if health.connected:
                        health.connected = False
                        health.reconnects += 1
                        await self.hub.publish(
                            StreamStatusChanged(stream=_label(health), status="reconnecting")
                        )
                    continue
                data = msg.get("data", msg)
                if data.get("e") != "kline":
                    continue
                if not health.connected:
                    self._mark_connected(health)
                    await self.hub.publish(
                        StreamStatusChanged(stream=_label(health), status="connected")
                    )
                k = kline_from_stream(data)
                health.last_message_at = time.time()
                health.last_event_time = k.event_time
                if k.event_time:
                    health.lag_ms = health.last_message_at * 1000 - k.event_time
                await self.on_kline(k)
        finally:
            health.connected = False
            task = asyncio.create_task(_close_socket(sock))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    def _mark_connected(health: ConnectionHealth) -> None:
        health.connected = True
        health.connects += 1

    def health(self) -> dict[str, Any]:
        """Per-connection lag, last message time and reconnect count; per-stream counters."""
        return {
            "connections": [vars(h).copy() for h in self.connections],
            "streams": {
                f"{st.symbol} {st.interval}": {
                    "last_closed_open_time": st.last_closed,
                    "published_closed": st.published_closed,
                    "backfilled": st.backfilled,
                    "duplicates": st.duplicates,
                    "gaps": st.gaps,
                }
                for st in self.streams.values()
            },
            "rest": vars(self.limiter.stats).copy(),
        }


async def _close_socket(sock: Any) -> None:
    """Close a python-binance socket without its ~10 s wait on a quiet stream.

    Its read loop only notices the exit after ``recv`` times out; closing the
    underlying websocket first makes that ``recv`` return at once.
    """
    ws = getattr(sock, "ws", None)
    if ws is not None:
        with contextlib.suppress(Exception):
            await ws.close()
    with contextlib.suppress(Exception):
        await sock.__aexit__(None, None, None)


def _label(health: ConnectionHealth) -> str:
    more = len(health.streams) - 3
    return ",".join(health.streams[:3]) + (f" (+{more})" if more > 0 else "")


def _open_times_between(interval: str, start: int, end_exclusive: int) -> list[int]:
    out = []
    t = start
    while t < end_exclusive:
        out.append(t)
        t = _core.next_open_time(interval, t)
    return out
