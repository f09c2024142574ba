"""The simulator's stateful book, followed through python-binance by Binance's procedure.

A reference follower (``depth_reference.py``, written from Binance's
documentation) reads ``@depth@100ms`` through python-binance's socket
manager and takes snapshots through ``AsyncClient.get_order_book``; its book
must equal the simulator's own book (``GET /sim/admin/book``) after a run
flat out, and an injected gap (``depth_gap``) must be detected and resynced.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from avd.exchange.simulator.book import Book
from tests.exchange.simulator.conftest import Sim, _start, run
from tests.exchange.simulator.depth_reference import Follower, side
from tests.polling import until

SYMBOL = "BTCUSDT"


@pytest.fixture(scope="module")
def flat_out() -> Iterator[Sim]:
    """A paused simulator that, once resumed, steps as fast as its consumers read (speed 0)."""
    yield from _start(speed=0.0, paused=True, symbols=[SYMBOL, "ETHUSDT"])


def _admin_book(sim: Sim, symbol: str = SYMBOL) -> dict[str, Any]:
    r = sim.http.get("/sim/admin/book", params={"symbol": symbol})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _follow(sim: Sim, events_before_gap: int, events_after_gap: int) -> dict[str, Any]:
    c = await sim.create()
    bsm = sim.client.socket_manager(c, max_queue_size=1_000_000)

    async def snapshot() -> dict[str, Any]:
        return await c.get_order_book(symbol=SYMBOL, limit=5000)  # type: ignore[no-any-return]

    follower = Follower(snapshot)
    try:
        async with bsm.depth_socket(SYMBOL, interval=100) as sock:
            await until(
                lambda: sim.http.get("/sim/admin/state").json()["stream_connections"] >= 1,
                "the depth stream connection",
            )
            await asyncio.to_thread(sim.admin, "resume")

            async def read() -> None:
                msg = await asyncio.wait_for(sock.recv(), 30)
                assert msg.get("e") != "error", msg
                await follower.on_event(msg)

            while follower.applied < events_before_gap:
                await read()
            assert follower.gaps == 0 and follower.snapshots == 1
            await asyncio.to_thread(sim.admin, "faults", depth_gap=1)
            while follower.gaps == 0 or follower.applied < events_before_gap + events_after_gap:
                await read()
            await asyncio.to_thread(sim.admin, "pause")
            book = await asyncio.to_thread(_admin_book, sim)
            while follower.last != book["lastUpdateId"]:
                await read()
            return {"follower": follower, "book": book}
    finally:
        await c.close_connection()


def test_a_follower_stays_equal_to_the_book_across_a_gap(flat_out: Sim) -> None:
    got = run(_follow(flat_out, 400, 400), timeout=180)
    f: Follower = got["follower"]
    book = got["book"]
    assert f.gaps == 1  # the withheld diff was seen as a gap...
    assert f.snapshots == 2  # ...and resynced from a fresh snapshot
    assert f.bids == side(book["bids"]) and f.asks == side(book["asks"])
    assert len(f.bids) == len(f.asks) == 100  # the configured depth
    bids, asks = f.top(1)
    assert bids[0][0] < asks[0][0]
    # REST depth, bookTicker and the admin book are the same book
    depth = flat_out.http.get("/api/v3/depth", params={"symbol": SYMBOL, "limit": 20}).json()
    assert depth["lastUpdateId"] == book["lastUpdateId"]
    assert depth["bids"] == book["bids"][:20] and depth["asks"] == book["asks"][:20]
    top = flat_out.http.get("/api/v3/ticker/bookTicker", params={"symbol": SYMBOL}).json()
    assert [top["bidPrice"], top["bidQty"]] == book["bids"][0]
    assert [top["askPrice"], top["askQty"]] == book["asks"][0]


def test_depth_limit_is_honoured_and_bad_symbols_refused(flat_out: Sim) -> None:
    for limit, n in ((5, 5), (100, 100), (5000, 100)):
        d = flat_out.http.get("/api/v3/depth", params={"symbol": SYMBOL, "limit": limit}).json()
        assert len(d["bids"]) == len(d["asks"]) == n
        prices = [Decimal(p) for p, _ in d["bids"]]
        assert prices == sorted(prices, reverse=True)
    r = flat_out.http.get("/sim/admin/book", params={"symbol": "NOPEUSDT"})
    assert r.status_code == 400 and r.json()["code"] == -1121


def test_the_book_is_seeded_and_deterministic() -> None:
    """Two simulators with the same data, start and seed step to the same book."""
    books = []
    for _ in range(2):
        for sim in _start(speed=1.0, paused=True, symbols=[SYMBOL]):
            sim.admin("step", n=50)
            books.append(_admin_book(sim))
    assert books[0] == books[1]
    assert books[0]["lastUpdateId"] > 50  # one update id per changed level


def test_diffs_rebuild_the_book_through_jumps_larger_than_its_depth() -> None:
    """Random walks with jumps beyond the book's depth: applying every diff to the
    starting book gives the book, which keeps ``levels`` one-tick levels a side."""
    book = Book(tick=100, base_qty=1000, levels=50, symbol="BTCUSDT", seed=7)
    book.reset(1_000_000)
    bids, asks = dict(book.bids), dict(book.asks)
    rng = random.Random(3)
    price = 1_000_000
    for _ in range(2000):
        price = max(
            price + rng.choice([-1, 1]) * rng.choice([0, 1, 2, 5, 49, 50, 51, 400]) * 100, 200
        )
        book.step(price, rng.randrange(3000), rng.random() < 0.5)
        db, da = book.take_diff()
        for mine, changes in ((bids, db), (asks, da)):
            for p, q in changes:
                if q == 0:
                    del mine[p]  # a removal names a level the follower holds
                else:
                    mine[p] = q
        assert bids == book.bids and asks == book.asks
        lowest = max(price - 49 * 100, 100)
        assert sorted(bids) == list(range(lowest, price + 1, 100))
        assert sorted(asks) == list(range(price + 100, price + 5100, 100))
        assert min(bids.values()) > 0 and min(asks.values()) > 0
