"""The book keeper's sync procedure on the real recording, event by event.

``ticks/BTCUSDT-spot-ws-2024-08-08.txt.gz`` is fed to
:class:`~avd.services.market.book_keeper.BookKeeper` in file order; its
snapshot fetch answers with the recording's own REST snapshot when the file
reaches that line (the recorder had buffered the first diffs meanwhile,
exactly Binance's procedure). The book is compared with the Decimal
reference of ``tests/test_orderbook.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

from avd.services.market.book_keeper import BookKeeper
from avd.services.market.settings import BookSettings
from tests.test_orderbook import RECORDING, Diff, RefBook, floats


def messages(shared_data: Path) -> list[dict[str, Any]]:
    out = []
    with gzip.open(shared_data / RECORDING, "rt") as f:
        for line in f:
            msg = json.loads(line.split(" ", 1)[1])
            out.append(msg if "lastUpdateId" in msg else msg["data"])
    return out


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_keeper_syncs_from_the_recording_and_resyncs_after_a_dropped_event(
    shared_data: Path,
) -> None:
    msgs = messages(shared_data)
    snapshot = next(m for m in msgs if "lastUpdateId" in m)
    depth = [m for m in msgs if m.get("e") == "depthUpdate"]
    drop_at = 3000  # index in the depth events

    async def main() -> None:
        answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        asked: list[str] = []

        async def fetch(symbol: str) -> dict[str, Any]:
            asked.append(symbol)
            return await answers.get()

        keeper = BookKeeper(BookSettings(), ["BTCUSDT"], ["1m"], fetch, {"BTCUSDT": 5.0})
        sb = keeper.books["BTCUSDT"]
        ref = RefBook(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"])
        n_depth = 0
        for m in msgs:
            if "lastUpdateId" in m:
                await settle()
                assert asked == ["BTCUSDT"]  # asked once the first diff was buffered
                assert sb.syncing and len(sb.buffer) >= 2
                await answers.put(m)
                await settle()
                assert not sb.syncing and sb.book.state == "synced"
                continue
            if m.get("e") != "depthUpdate":
                keeper.on_message(m)  # trades and book tickers: ignored here
                continue
            d = Diff(m["U"], m["u"], m["b"], m["a"])
            if n_depth == drop_at:
                n_depth += 1
                assert ref.apply(d) == "applied"  # the reference sees it; the keeper does not
                continue
            n_depth += 1
            if n_depth == drop_at + 2:
                keeper.on_message(m)  # the gap: buffered, a new snapshot asked for
                await settle()
                assert sb.book.gaps == 1 and sb.syncing and len(asked) == 2
                assert ref.apply(d) == "applied"
                # a made-up snapshot of the reference, inside the next event's range
                nxt = depth[drop_at + 2]
                bids, asks = ref.snapshot()
                await answers.put(
                    {"lastUpdateId": nxt["U"] - (nxt["u"] == nxt["U"]), "bids": bids, "asks": asks}
                )
                await settle()
                assert not sb.syncing
                continue
            keeper.on_message(m)
            ref.apply(d)
            if not sb.syncing:
                assert sb.book.last_update_id == ref.last
                assert sb.book.bids(20) == floats(ref.bids.top(20)), n_depth
                assert sb.book.asks(20) == floats(ref.asks.top(20)), n_depth
        assert sb.resyncs == 1
        assert sb.book.gaps == 1
        assert sb.book.snapshots == 2
        assert sb.diffs == len(depth) - 1
        assert sb.trades == sum(
            m.get("e") == "aggTrade" for m in msgs
        )  # the recording has @trade only
        await keeper.stop()

    asyncio.run(main())


def test_keeper_skips_unusable_events_and_trades() -> None:
    async def main() -> None:
        snap = {"lastUpdateId": 10, "bids": [["100", "1"]], "asks": [["101", "1"]]}

        async def fetch(symbol: str) -> dict[str, Any]:
            return snap

        keeper = BookKeeper(BookSettings(), ["X"], ["1m"], fetch, {"X": 1.0})
        sb = keeper.books["X"]
        keeper.on_message(
            {"e": "depthUpdate", "s": "X", "U": 9, "u": 11, "b": [["100", "2"]], "a": []}
        )
        await settle()
        assert sb.book.state == "synced" and sb.book.best_bid() == (100.0, 2.0)
        keeper.on_message(
            {"e": "depthUpdate", "s": "X", "U": 12, "u": 12, "b": [["bad", "1"]], "a": []}
        )
        assert sb.bad_events == 1 and sb.syncing
        book = keeper.book_view("X", 5)
        assert book is not None and book["state"] == "resyncing"
        keeper.on_message({"e": "aggTrade", "s": "X", "T": 1, "p": "0", "q": "1", "m": True})
        keeper.on_message({"e": "aggTrade", "s": "X", "T": 2, "p": "100", "q": "2", "m": False})
        assert (sb.bad_trades, sb.trades) == (1, 1)
        keeper.on_closed_candle("X", "1m", 0)
        view = keeper.flow_view("X", "1m", 10)
        assert view is not None
        assert [c["delta"] for c in view["candles"]] == [2.0]
        assert view["candles"][0]["book_synced"] is False
        assert keeper.flow_view("X", "5m", 10) is None
        assert keeper.book_view("Y", 5) is None
        await keeper.stop()

    asyncio.run(main())
