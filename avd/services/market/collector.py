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
* **Order books and trade flow** (``book_symbols``): a separate connection
  streams ``@depth@100ms`` and ``@aggTrade`` into a
  :class:`~avd.services.market.book_keeper.BookKeeper`, which keeps each
  book synced by Binance's procedure (REST snapshot, buffered diffs, resync
  on a gap) and the flow per candle; each closed candle snapshots their
  analytics.

This module holds the collector, its REST reads, the warm-up and the gap
fill; the settings and state are in :mod:`~avd.services.market.collector_state`,
and one websocket connection is read by
:class:`~avd.services.market.kline_stream.KlineConnection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from avd import _core
from avd.domain.bus import EventBus
from avd.domain.events import GapDetected, KlineReceived, OrderFlowClosed
from avd.exchange.rest_limiter import RestLimiter
from avd.history import Candles, candles_from_klines
from avd.services.market import universe
from avd.services.market.book_keeper import BookKeeper, vpin_bucket
from avd.services.market.book_stream import BookConnection
from avd.services.market.candle_history import CandleHistory
from avd.services.market.collector_state import ConnectionHealth, StreamState
from avd.services.market.kline_stream import KlineConnection, kline_from_stream
from avd.services.market.settings import CollectorSettings
from avd.services.market.shards import Shard

# the settings, the state and the stream parsing were defined here first: still importable
__all__ = [
    "CollectorSettings",
    "ConnectionHealth",
    "MarketDataCollector",
    "StreamState",
    "kline_from_rest",
    "kline_from_stream",
]

log = logging.getLogger(__name__)

KLINES_WEIGHT = 2
EXCHANGE_INFO_WEIGHT = 20
REST_PAGE = 1000


def depth_weight(limit: int) -> int:
    """The REST weight of ``GET depth`` at ``limit`` levels."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


ClientFactory = Callable[[], Awaitable[Any]]
SocketManagerFactory = Callable[[Any, int], Any]
HistorySink = Callable[[Candles], Awaitable[None]]


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
        #: this process's part of the symbols (``--shard i/n``), or all of them
        self.shard = Shard.parse(settings.shard) if settings.shard is not None else None
        named = universe.named(settings.symbols)
        if self.shard is not None and len(named) == len(settings.symbols):
            named = self._own(named)
        self.streams: dict[tuple[str, str], StreamState] = {
            (s, i): StreamState(s, i) for s in named for i in settings.intervals
        }
        self.connections: list[ConnectionHealth] = []
        self._readers: list[KlineConnection] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[tuple[str, str], asyncio.Lock] = {k: asyncio.Lock() for k in self.streams}
        self.ready = asyncio.Event()
        #: the live order books and trade flow (None when ``book_symbols`` is empty)
        self.books: BookKeeper | None = None
        self._book_reader: BookConnection | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Connect, load exchangeInfo, warm up, and open the streams."""
        self.client = await self._client_factory()
        await self.load_exchange_info()
        for key in self.streams:
            await self.warm_up(*key)
        names = [st.name for st in self.streams.values()]
        size = self.settings.max_streams_per_connection
        for i in range(0, len(names), size):
            health = ConnectionHealth(names[i : i + size])
            self.connections.append(health)
            reader = KlineConnection(
                health,
                self.settings,
                self.hub,
                lambda: self._bsm_factory(self.client, self.settings.socket_queue_size),
                self.on_kline,
            )
            self._readers.append(reader)
            self._tasks.append(asyncio.create_task(reader.run(), name=f"collector:{i // size}"))
        await self._start_books()
        self.ready.set()

    async def _start_books(self) -> None:
        symbols = self.settings.books(list(dict.fromkeys(s for s, _ in self.streams)))
        if not symbols:
            return
        interval = self.settings.intervals[0]
        ms = int(_core.interval_ms(interval))
        buckets = {}
        for s in symbols:
            tail = await self.history.tail(s, interval, self.settings.warmup_bars)
            volumes = [] if tail is None else [float(v) for v in tail.volume]
            buckets[s] = vpin_bucket(volumes, ms, self.settings.book.vpin_buckets_per_day)
        self.books = BookKeeper(
            self.settings.book,
            symbols,
            list(self.settings.intervals),
            self.fetch_depth,
            buckets,
            retry_delay_s=self.settings.reconnect_delay_s,
        )
        self._book_reader = BookConnection(
            self.books,
            self.settings,
            lambda: self._bsm_factory(self.client, self.settings.socket_queue_size),
        )
        self._tasks.append(asyncio.create_task(self._book_reader.run(), name="collector:books"))
        log.info("keeping the order books and trade flow of %s", ", ".join(symbols))

    async def fetch_depth(self, symbol: str) -> dict[str, Any]:
        """A REST depth snapshot (``get_order_book``) through the rate limiter."""
        limit = self.settings.book.snapshot_limit

        async def call() -> Any:
            return await self.client.get_order_book(symbol=symbol, limit=limit)

        snap: dict[str, Any] = await self._rest(depth_weight(limit), f"depth {symbol}", call)
        return snap

    async def stop(self) -> None:
        """Close the streams and the client."""
        for reader in self._readers:
            reader.running = False
        if self._book_reader is not None:
            self._book_reader.running = False
        if self.books is not None:
            await self.books.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        closing = set().union(*(r.closing for r in self._readers))
        if self._book_reader is not None:
            closing |= self._book_reader.closing
        if closing:
            _, pending = await asyncio.wait(closing, timeout=2.0)
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
        """Load symbols, status and filters; refuse unknown symbols; expand selectors.

        A selector (``*USDT``) is replaced by the exchange's trading pairs of
        that quote asset (see :mod:`avd.services.market.universe`); one that
        selects nothing is refused.
        """
        info = await self._rest(EXCHANGE_INFO_WEIGHT, "exchangeInfo", self.client.get_exchange_info)
        self.exchange_info = {s["symbol"]: s for s in info["symbols"]}
        for symbol in universe.named(self.settings.symbols):
            s = self.exchange_info.get(symbol)
            if s is None:
                raise ValueError(f"{symbol} is not listed by the exchange")
            if s.get("status") != "TRADING":
                log.warning("%s is %s on the exchange", symbol, s.get("status"))
        if any(universe.is_selector(e) for e in self.settings.symbols):
            symbols = universe.expand(self.settings.symbols, self.exchange_info)
            if not symbols:
                raise ValueError(
                    f"{', '.join(self.settings.symbols)} selects no trading pair on the exchange"
                )
            symbols = self._own(symbols)
            log.info("tracking %d symbols (%s)", len(symbols), ", ".join(self.settings.symbols))
            self.streams = {
                (s, i): StreamState(s, i) for s in symbols for i in self.settings.intervals
            }
            self._locks = {k: asyncio.Lock() for k in self.streams}

    def _own(self, symbols: list[str]) -> list[str]:
        """The part of ``symbols`` this shard owns (all of them without a shard)."""
        if self.shard is None:
            return symbols
        mine = self.shard.select(symbols)
        log.info("shard %s: %d symbols (%s)", self.shard, len(mine), ", ".join(mine))
        return mine

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
        if self.books is not None:
            row = self.books.on_closed_candle(k.symbol, k.interval, k.open_time)
            if row is not None:
                await self.hub.publish(
                    OrderFlowClosed(
                        symbol=k.symbol, interval=k.interval, open_time=k.open_time, flow=row
                    )
                )

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
            "books": None
            if self.books is None or self._book_reader is None
            else {
                "connection": vars(self._book_reader.health).copy(),
                "symbols": self.books.health(),
            },
        }


def _open_times_between(interval: str, start: int, end_exclusive: int) -> list[int]:
    out = []
    t = start
    while t < end_exclusive:
        out.append(t)
        t = _core.next_open_time(interval, t)
    return out
