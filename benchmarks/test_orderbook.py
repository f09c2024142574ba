"""The order book on the real depth stream, against python-binance's DepthCache.

Data: Binance's BTCUSDT ``@depth@100ms`` recording of ``../shared/data/ticks``
(6,495 events, 46 levels each on average, 11 minutes) applied after its REST
snapshot, replayed with shifted update ids (every replay is one more
``apply_diff`` per event on the same, continuing book). A busy symbol's day
of ``@depth@100ms`` is 864,000 events: the figures are scaled to it.

* ``orderbook apply_diff``: :meth:`avd.orderbook.OrderBook.apply_diff` per
  event with the lists of decimal strings python-binance hands the caller
  (parsing, exact integer levels, the sync check, the OFI update).
  Peer: python-binance's ``DepthCache.add_bid``/``add_ask`` per level (a dict
  keyed by the price string, quantities as floats, no sync check, no order).
* ``orderbook apply_message``: :meth:`avd.orderbook.OrderBook.apply_message`
  per event with the websocket message as received (the combined-stream JSON
  bytes), parsed in Rust; every round re-applies the snapshot (the update
  ids are in the bytes), under 1 % of a round. Peer: what python-binance
  does with the same bytes, its ``json_loads`` (orjson when installed, else
  ``json``) then ``DepthCache.add_bid``/``add_ask`` per level.
* ``orderbook apply_messages``: the same bytes in one
  :meth:`avd.orderbook.OrderBook.apply_messages` call per round (replays: no
  Python call per event). Same peer.
* ``orderbook analytics``: per update (1,000 of them, on the synced book),
  best bid/ask, ``imbalance(10)``, ``microprice()``, ``depth(10)`` and the
  top 20 of each side. Peer: the
  same from ``DepthCache.get_bids()``/``get_asks()`` (they sort the whole
  side on every call, which is how python-binance serves the top).
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from avd.orderbook import OrderBook

from .conftest import RESULTS, SHARED_DATA

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from binance.ws.depthcache import DepthCache

try:  # python-binance's websocket decodes with orjson when it is installed
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

DAY_EVENTS = 864_000  # 24 h of 100 ms events
ANALYTICS_UPDATES = 1_000
Event = tuple[int, int, list[list[str]], list[list[str]]]
RECORDING = SHARED_DATA / "ticks" / "BTCUSDT-spot-ws-2024-08-08.txt.gz"


@pytest.fixture(scope="module")
def depth() -> tuple[dict[str, Any], list[Event]]:
    snapshot: dict[str, Any] | None = None
    events: list[Event] = []
    with gzip.open(RECORDING, "rt") as f:
        for line in f:
            msg = json.loads(line.split(" ", 1)[1])
            if "lastUpdateId" in msg:
                snapshot = msg
            elif msg["stream"].endswith("@depth@100ms"):
                d = msg["data"]
                events.append((d["U"], d["u"], d["b"], d["a"]))
    assert snapshot is not None
    return snapshot, events


@pytest.fixture(scope="module")
def raw_messages() -> list[bytes]:
    """The depth messages of the recording as received (combined-stream JSON)."""
    with gzip.open(RECORDING, "rb") as f:
        return [line.split(b" ", 1)[1].rstrip(b"\n") for line in f if b"@depth@100ms" in line[:80]]


def _synced(snapshot: dict[str, Any], events: list[Event]) -> OrderBook:
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"])
    for first, last, bids, asks in events:
        book.apply_diff(first, last, bids, asks)
    return book


def _cache(snapshot: dict[str, Any], events: list[Event]) -> DepthCache:
    dc = DepthCache("BTCUSDT")
    for b in snapshot["bids"]:
        dc.add_bid(b)
    for a in snapshot["asks"]:
        dc.add_ask(a)
    for _, _, bids, asks in events:
        for b in bids:
            dc.add_bid(b)
        for a in asks:
            dc.add_ask(a)
    return dc


def test_apply_diff_per_event(
    depth: tuple[dict[str, Any], list[Event]], side_by_side: Any, benchmark: Any
) -> None:
    snapshot, events = depth
    book = _synced(snapshot, events)
    dc = _cache(snapshot, events)
    span = events[-1][1] - events[0][0] + 1
    rounds = [1]

    def ours() -> None:
        off = rounds[0] * span
        rounds[0] += 1
        apply = book.apply_diff
        for first, last, bids, asks in events:
            apply(first + off, last + off, bids, asks)

    def peer() -> None:
        add_bid, add_ask = dc.add_bid, dc.add_ask
        for _, _, bids, asks in events:
            for b in bids:
                add_bid(b)
            for a in asks:
                add_ask(a)

    side_by_side("orderbook apply_diff", ours, peer, "DepthCache add_*", len(events), repeat=5)
    assert book.gaps == 0
    if benchmark.disabled:
        return
    per_event = benchmark.stats.stats.min / len(events)
    RESULTS["orderbook apply_diff"] = {
        "events/s": 1 / per_event,
        "levels/event": sum(len(e[2]) + len(e[3]) for e in events) / len(events),
        "s per day of @depth@100ms": per_event * DAY_EVENTS,
    }


def _check_and_record(
    book: OrderBook, snapshot: dict[str, Any], events: list[Event], benchmark: Any, name: str
) -> None:
    """The book equal to the dict path's after the rounds; the rate per event into RESULTS."""
    ref = _synced(snapshot, events)
    assert book.bids() == ref.bids() and book.asks() == ref.asks()
    assert book.last_update_id == ref.last_update_id and book.gaps == 0
    if benchmark.disabled:
        return
    per_event = benchmark.stats.stats.min / len(events)
    RESULTS[name] = {"events/s": 1 / per_event, "s per day of @depth@100ms": per_event * DAY_EVENTS}


def _loads_into_depth_cache(dc: Any, raw_messages: list[bytes]) -> Callable[[], None]:
    """python-binance's way with raw messages: ``json.loads`` (orjson when
    installed, as python-binance uses) then ``DepthCache.add_bid/add_ask``."""
    loads = orjson.loads if orjson is not None else json.loads

    def peer() -> None:
        add_bid, add_ask = dc.add_bid, dc.add_ask
        for m in raw_messages:
            d = loads(m)["data"]
            for b in d["b"]:
                add_bid(b)
            for a in d["a"]:
                add_ask(a)

    return peer


def test_apply_message_per_event(
    depth: tuple[dict[str, Any], list[Event]],
    raw_messages: list[bytes],
    side_by_side: Any,
    benchmark: Any,
) -> None:
    snapshot, events = depth
    assert len(raw_messages) == len(events)
    book = OrderBook("BTCUSDT")
    dc = _cache(snapshot, [])
    last_id, snap_bids, snap_asks = snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"]

    def ours() -> None:
        book.apply_snapshot(last_id, snap_bids, snap_asks)
        apply = book.apply_message
        for m in raw_messages:
            apply(m)

    peer = _loads_into_depth_cache(dc, raw_messages)

    side_by_side(
        "orderbook apply_message", ours, peer, "json_loads + DepthCache", len(events), repeat=5
    )
    _check_and_record(book, snapshot, events, benchmark, "orderbook apply_message")
    if not benchmark.disabled:
        RESULTS["orderbook apply_message"]["bytes/event"] = sum(map(len, raw_messages)) / len(
            raw_messages
        )


def test_apply_messages_batch_per_event(
    depth: tuple[dict[str, Any], list[Event]],
    raw_messages: list[bytes],
    side_by_side: Any,
    benchmark: Any,
) -> None:
    """The same bytes through ``apply_messages`` (one call per round, replays)."""
    snapshot, events = depth
    book = OrderBook("BTCUSDT")
    dc = _cache(snapshot, [])
    last_id, snap_bids, snap_asks = snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"]

    def ours() -> None:
        book.apply_snapshot(last_id, snap_bids, snap_asks)
        book.apply_messages(raw_messages)

    peer = _loads_into_depth_cache(dc, raw_messages)

    side_by_side(
        "orderbook apply_messages", ours, peer, "json_loads + DepthCache", len(events), repeat=5
    )
    _check_and_record(book, snapshot, events, benchmark, "orderbook apply_messages")


def test_analytics_per_update(
    depth: tuple[dict[str, Any], list[Event]], side_by_side: Any, benchmark: Any
) -> None:
    snapshot, events = depth
    book = _synced(snapshot, events)
    dc = _cache(snapshot, events)
    n = ANALYTICS_UPDATES

    def ours() -> None:
        for _ in range(n):
            book.best_bid()
            book.best_ask()
            book.imbalance(10)
            book.microprice()
            book.depth(10)
            book.bids(20)
            book.asks(20)

    def peer() -> None:
        for _ in range(n):
            bids, asks = dc.get_bids(), dc.get_asks()
            (pb, qb), (pa, qa) = bids[0], asks[0]
            b10 = sum(q for _, q in bids[:10])
            a10 = sum(q for _, q in asks[:10])
            _ = (b10 - a10) / (b10 + a10)
            _ = (pb * qa + pa * qb) / (qb + qa)
            mid = (pb + pa) / 2
            _ = sum(q for p, q in bids if (mid - p) * 1e4 <= 10 * mid)
            _ = sum(q for p, q in asks if (p - mid) * 1e4 <= 10 * mid)
            _ = (bids[:20], asks[:20])

    side_by_side("orderbook analytics", ours, peer, "DepthCache get_*", n, repeat=1, peer_scale=1.0)
    if benchmark.disabled:
        return
    RESULTS["orderbook analytics"] = {
        "us per update (7 calls)": benchmark.stats.stats.min / n * 1e6
    }
