"""Live order books and trade flow per symbol, kept by Binance's procedure.

For each symbol of ``market.book_symbols`` the collector streams
``<symbol>@depth@100ms`` and ``<symbol>@aggTrade``
(:mod:`~avd.services.market.book_stream`) into a :class:`BookKeeper`:

* **Book sync** (Binance's "How to manage a local order book correctly"):
  depth events are buffered while the REST snapshot
  (``get_order_book(symbol=, limit=1000)``) is fetched; the snapshot is
  applied, then the buffered events in order (stale ones, ``u <=
  lastUpdateId``, are skipped; the first applied one straddles the snapshot,
  ``U <= lastUpdateId + 1 <= u``), then every new event. A gap
  (``U > previous u + 1``, :class:`~avd.exceptions.BookGapError`) starts the
  procedure again: the event is buffered and a new snapshot fetched. Resyncs
  are counted (``GET /health``, ``GET /symbols/{symbol}/book``).
* **Decoded events**: python-binance's websocket decodes every message
  (its ``json_loads``, orjson when installed) before handing it over and
  offers no public way to receive the raw bytes, so depth events reach
  :meth:`~avd.orderbook.OrderBook.apply_diff` as dicts;
  :meth:`~avd.orderbook.OrderBook.apply_message` (raw bytes parsed in Rust)
  serves readers of raw frames (recordings, another websocket client).
* **Trade flow**: every aggregate trade goes to an
  :class:`~avd.orderflow.OrderFlow` per collected interval (buy/sell volume,
  delta, CVD, trade imbalance, large trades, VPIN).
* **Per closed candle**: when the collector publishes a closed kline of a
  kept symbol, the flow's candle is closed and the book's analytics at that
  moment (mid, spread, microprice, imbalance over ``imbalance_levels``,
  depth within ``depth_bps``, and the order-flow imbalance summed since the
  previous candle) are kept beside it (``GET /symbols/{symbol}/flow``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from avd import _core
from avd.exceptions import BookGapError
from avd.orderbook import OrderBook
from avd.orderflow import OrderFlow
from avd.services.market.settings import BookSettings

log = logging.getLogger(__name__)

#: fetches a REST depth snapshot: ``{"lastUpdateId", "bids", "asks"}``
SnapshotFetcher = Callable[[str], Awaitable[dict[str, Any]]]
DAY_MS = 86_400_000


@dataclass
class SymbolBook:
    """One symbol's book, flows and sync counters."""

    symbol: str
    book: OrderBook
    flows: dict[str, OrderFlow]
    #: book analytics at each closed candle, per interval
    closes: dict[str, deque[dict[str, Any]]]
    buffer: deque[dict[str, Any]]
    syncing: bool = True
    resync_task: asyncio.Task[None] | None = None
    resyncs: int = 0
    snapshot_failures: int = 0
    diffs: int = 0
    stale: int = 0
    trades: int = 0
    dropped: int = 0
    bad_trades: int = 0
    bad_events: int = 0
    updated_at: float | None = None
    #: OFI summed since the last closed candle, per interval
    ofi: dict[str, float] = field(default_factory=dict)


class BookKeeper:
    """The live books and flows of the tracked symbols.

    Parameters
    ----------
    settings
        ``market.book``.
    symbols
        The symbols whose books are kept.
    intervals
        The collected intervals (one flow per symbol and interval).
    fetch_snapshot
        Fetches a REST snapshot (through the collector's rate limiter).
    vpin_bucket_volume
        Per symbol, the VPIN bucket size in base volume.
    retry_delay_s
        Wait before fetching a snapshot again after a failure.
    """

    def __init__(
        self,
        settings: BookSettings,
        symbols: list[str],
        intervals: list[str],
        fetch_snapshot: SnapshotFetcher,
        vpin_bucket_volume: dict[str, float],
        *,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.intervals = list(intervals)
        self._fetch = fetch_snapshot
        self._retry_delay_s = retry_delay_s
        self.books: dict[str, SymbolBook] = {
            s: SymbolBook(
                symbol=s,
                book=OrderBook(s),
                flows={
                    i: OrderFlow(
                        i,
                        vpin_bucket_volume=vpin_bucket_volume.get(s, 1.0),
                        vpin_window=settings.vpin_window,
                        large_trade_notional=settings.large_trade_notional,
                        history=settings.history,
                    )
                    for i in intervals
                },
                closes={i: deque(maxlen=settings.history) for i in intervals},
                buffer=deque(maxlen=settings.buffer),
                ofi={i: 0.0 for i in intervals},
            )
            for s in symbols
        }

    def streams(self) -> list[str]:
        """The websocket stream names to subscribe."""
        out = []
        for s in self.books:
            out += [f"{s.lower()}@depth@100ms", f"{s.lower()}@aggTrade"]
        return out

    # -- stream input -----------------------------------------------------------------

    def on_message(self, data: dict[str, Any]) -> None:
        """Route one stream event (``depthUpdate`` or ``aggTrade``)."""
        kind = data.get("e")
        sb = self.books.get(str(data.get("s", "")))
        if sb is None:
            return
        if kind == "depthUpdate":
            self.on_depth(sb, data)
        elif kind == "aggTrade":
            self.on_trade(sb, data)

    def on_depth(self, sb: SymbolBook, data: dict[str, Any]) -> None:
        """Apply a depth event, or buffer it while the book (re)syncs."""
        sb.diffs += 1
        if sb.syncing:
            self._buffer(sb, data)
            return
        try:
            if not self._apply(sb, data):
                sb.stale += 1
        except BookGapError as exc:
            log.warning("%s; resyncing", exc)
            self.resync(sb)
            self._buffer(sb, data)
        except (KeyError, TypeError, ValueError) as exc:
            # an unusable event cannot be skipped (the book would miss it): resync
            sb.bad_events += 1
            log.warning("%s: unusable depth event (%s); resyncing", sb.symbol, exc)
            self.resync(sb)

    def on_trade(self, sb: SymbolBook, data: dict[str, Any]) -> None:
        """Add an aggregate trade to the symbol's flows."""
        try:
            t, p, q, m = int(data["T"]), float(data["p"]), float(data["q"]), bool(data["m"])
            for flow in sb.flows.values():
                flow.update(t, p, q, m)
        except (KeyError, TypeError, ValueError) as exc:
            # one unusable trade is counted and skipped; the stream goes on
            sb.bad_trades += 1
            log.warning("%s: unusable aggTrade %s (%s)", sb.symbol, data, exc)
            return
        sb.trades += 1

    def on_closed_candle(self, symbol: str, interval: str, open_time: int) -> dict[str, Any] | None:
        """Close the flow's candle and keep the book's analytics at this close.

        Returns the candle's ``/flow`` row (None when the symbol's book is not kept).
        """
        sb = self.books.get(symbol)
        if sb is None or interval not in sb.flows:
            return None
        close_time = _core.next_open_time(interval, open_time)
        sb.flows[interval].flush(close_time)
        self._take_ofi(sb)
        s = self.settings
        book = sb.book
        synced = not sb.syncing and book.state == "synced"
        bid_depth, ask_depth = book.depth(s.depth_bps) if synced else (None, None)
        sb.closes[interval].append(
            {
                "open_time": open_time,
                "book_synced": synced,
                "mid": book.mid() if synced else None,
                "spread": book.spread() if synced else None,
                "microprice": book.microprice() if synced else None,
                "book_imbalance": book.imbalance(s.imbalance_levels) if synced else None,
                "bid_depth": bid_depth,
                "ask_depth": ask_depth,
                "ofi": sb.ofi[interval],
            }
        )
        sb.ofi[interval] = 0.0
        closed = [c for c in sb.flows[interval].candles(1) if c["open_time"] == open_time]
        return {**closed[0], **_book_part(sb.closes[interval][-1])} if closed else None

    def reset_all(self) -> None:
        """The stream was reconnected: every book resyncs from the next events."""
        for sb in self.books.values():
            if not sb.syncing:
                self.resync(sb)

    # -- the sync procedure ------------------------------------------------------------

    def _apply(self, sb: SymbolBook, data: dict[str, Any]) -> bool:
        applied = sb.book.apply_diff(int(data["U"]), int(data["u"]), data["b"], data["a"])
        if applied:
            sb.updated_at = time.time()
        return applied

    def _take_ofi(self, sb: SymbolBook) -> None:
        ofi = sb.book.take_ofi()
        for i in sb.ofi:
            sb.ofi[i] += ofi

    def _buffer(self, sb: SymbolBook, data: dict[str, Any]) -> None:
        if len(sb.buffer) == sb.buffer.maxlen:
            sb.dropped += 1  # the oldest goes; a snapshot older than the rest resyncs again
        sb.buffer.append(data)
        if sb.resync_task is None or sb.resync_task.done():
            sb.resync_task = asyncio.create_task(self._sync(sb), name=f"book-sync:{sb.symbol}")

    def resync(self, sb: SymbolBook) -> None:
        """Start the procedure again: buffer, fetch a snapshot, replay the buffer."""
        self._take_ofi(sb)  # the flow measured so far stays with its candle
        sb.syncing = True
        sb.resyncs += 1
        sb.buffer.clear()

    async def _sync(self, sb: SymbolBook) -> None:
        """Fetch snapshots until the buffered events follow one (Binance's steps 3-7)."""
        while sb.syncing:
            try:
                snap = await self._fetch(sb.symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                sb.snapshot_failures += 1
                log.warning("depth snapshot of %s failed (%s); retrying", sb.symbol, exc)
                await asyncio.sleep(self._retry_delay_s)
                continue
            sb.book.apply_snapshot(int(snap["lastUpdateId"]), snap["bids"], snap["asks"])
            # no await while the buffer drains: new events wait in the socket's queue
            try:
                while sb.buffer:
                    try:
                        if not self._apply(sb, sb.buffer[0]):
                            sb.stale += 1
                    except (KeyError, TypeError, ValueError) as exc:
                        # dropped: the next event then reveals the gap, and a new snapshot follows
                        sb.bad_events += 1
                        log.warning("%s: unusable depth event (%s)", sb.symbol, exc)
                    sb.buffer.popleft()
            except BookGapError as exc:
                # the snapshot is older than the buffered events (or they miss some):
                # keep the buffer and fetch a newer snapshot
                log.info("%s; fetching a newer snapshot", exc)
                sb.resyncs += 1
                await asyncio.sleep(self._retry_delay_s)
                continue
            # synced, or waiting for the event that straddles the snapshot (the next
            # live event applies or reveals a gap, which starts again)
            sb.syncing = False
            log.info("%s book synced at update id %d", sb.symbol, sb.book.last_update_id)

    async def stop(self) -> None:
        """Cancel the snapshot fetches in flight."""
        tasks = [sb.resync_task for sb in self.books.values() if sb.resync_task is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    # -- views --------------------------------------------------------------------------

    def spread_percent(self, symbol: str) -> float | None:
        """The live spread in percent of the mid, or None (book not kept or not synced)."""
        sb = self.books.get(symbol)
        if sb is None or sb.syncing or sb.book.state != "synced":
            return None
        spread, mid = sb.book.spread(), sb.book.mid()
        if spread is None or not mid:
            return None
        return float(spread) / float(mid) * 100.0

    def book_view(self, symbol: str, depth: int) -> dict[str, Any] | None:
        """Levels and analytics of a kept book, or None if the symbol's book is not kept."""
        sb = self.books.get(symbol)
        if sb is None:
            return None
        b, s = sb.book, self.settings
        bid_depth, ask_depth = b.depth(s.depth_bps)
        return {
            "symbol": symbol,
            "state": _state(sb),
            "last_update_id": b.last_update_id,
            "updated_at": sb.updated_at,
            "bids": [list(x) for x in b.bids(depth)],
            "asks": [list(x) for x in b.asks(depth)],
            "best_bid": _pair(b.best_bid()),
            "best_ask": _pair(b.best_ask()),
            "spread": b.spread(),
            "mid": b.mid(),
            "microprice": b.microprice(),
            "imbalance": b.imbalance(depth),
            "depth_bps": s.depth_bps,
            "bid_depth": bid_depth,
            "ask_depth": ask_depth,
            "ofi": b.ofi,
            "levels": {"bids": b.bid_count, "asks": b.ask_count},
            "resyncs": sb.resyncs,
            "gaps": b.gaps,
        }

    def flow_view(self, symbol: str, interval: str, limit: int) -> dict[str, Any] | None:
        """Flow and book analytics per closed candle, or None if not kept."""
        sb = self.books.get(symbol)
        if sb is None or interval not in sb.flows:
            return None
        flow = sb.flows[interval]
        by_open = {c["open_time"]: c for c in sb.closes[interval]}
        rows = [{**c, **_book_part(by_open.get(c["open_time"]))} for c in flow.candles(limit)]
        current = flow.current()
        return {
            "symbol": symbol,
            "interval": interval,
            "cvd": flow.cvd,
            "vpin": flow.vpin,
            "trades": flow.trades,
            "late_trades": flow.late_trades,
            "current": current,
            "candles": rows,
            "long_short": None,
        }

    def health(self) -> dict[str, Any]:
        """Per symbol: sync state, resyncs, gaps, events and trades seen."""
        return {
            s: {
                "state": _state(sb),
                "resyncs": sb.resyncs,
                "gaps": sb.book.gaps,
                "snapshots": sb.book.snapshots,
                "snapshot_failures": sb.snapshot_failures,
                "depth_events": sb.diffs,
                "stale_events": sb.stale,
                "buffer_dropped": sb.dropped,
                "trades": sb.trades,
                "bad_trades": sb.bad_trades,
                "bad_depth_events": sb.bad_events,
                "last_update_id": sb.book.last_update_id,
            }
            for s, sb in self.books.items()
        }


_BOOK_FIELDS = (
    "book_synced",
    "mid",
    "spread",
    "microprice",
    "book_imbalance",
    "bid_depth",
    "ask_depth",
    "ofi",
)


def _state(sb: SymbolBook) -> str:
    """The book's sync state; ``resyncing`` while a new snapshot is awaited after a gap."""
    if sb.syncing and sb.book.snapshots > 0:
        return "resyncing"
    return sb.book.state


def _pair(level: tuple[float, float] | None) -> list[float] | None:
    return None if level is None else list(level)


def _book_part(close: dict[str, Any] | None) -> dict[str, Any]:
    if close is None:
        return dict.fromkeys(_BOOK_FIELDS)
    return {k: close[k] for k in _BOOK_FIELDS}


def vpin_bucket(volumes: list[float], interval_ms: int, buckets_per_day: int) -> float:
    """The VPIN bucket size: the typical day's volume (from candle volumes) / ``buckets_per_day``.

    Falls back to 1.0 without volume (the flow still counts; VPIN fills faster).
    """
    if not volumes or sum(volumes) <= 0:
        return 1.0
    per_day = sum(volumes) / len(volumes) * (DAY_MS / interval_ms)
    return per_day / buckets_per_day
