"""A reference order-book follower written from Binance's documentation.

"How to manage a local order book correctly" (Binance Spot API docs): buffer
the diff events; get a snapshot; if its ``lastUpdateId`` is below the first
buffered ``U``, get it again; drop events with ``u <= lastUpdateId``; the
first event kept must contain ``lastUpdateId + 1`` in ``[U, u]``; every
later event must have ``U == previous u + 1``, else the book is out of sync
and the procedure starts over. Quantities are absolute; ``0`` removes the
level. Prices and quantities are :class:`~decimal.Decimal` keys and values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

Snapshot = Callable[[], Awaitable[dict[str, Any]]]


def side(levels: list[list[str]]) -> dict[Decimal, Decimal]:
    """``[[price, qty], ...]`` as a Decimal dict (zero quantities left out)."""
    return {Decimal(p): Decimal(q) for p, q in levels if Decimal(q) != 0}


class Follower:
    """Binance's procedure, fed one event at a time."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.last: int | None = None  # None: not in sync
        self.fresh = False  # the next event must straddle the snapshot
        self.buffer: list[dict[str, Any]] = []
        self.gaps = 0
        self.snapshots = 0
        self.applied = 0

    def _apply(self, e: dict[str, Any]) -> None:
        for book, levels in ((self.bids, e["b"]), (self.asks, e["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    book.pop(Decimal(p), None)
                else:
                    book[Decimal(p)] = Decimal(q)
        self.last = int(e["u"])
        self.applied += 1

    def _accept(self, e: dict[str, Any]) -> bool:
        """Apply ``e``; False on a gap (the book is out of sync)."""
        assert self.last is not None
        first, last = int(e["U"]), int(e["u"])
        if last <= self.last:
            return True  # already in the snapshot
        if self.fresh:
            if not first <= self.last + 1 <= last:
                return False
            self.fresh = False
        elif first != self.last + 1:
            return False
        self._apply(e)
        return True

    async def _sync(self) -> None:
        while True:
            snap = await self.snapshot()
            self.snapshots += 1
            if snap["lastUpdateId"] >= int(self.buffer[0]["U"]):
                break  # else the snapshot is older than the buffered events: again
        self.bids, self.asks = side(snap["bids"]), side(snap["asks"])
        self.last = int(snap["lastUpdateId"])
        self.fresh = True
        pending, self.buffer = self.buffer, []
        for e in pending:
            if not self._accept(e):
                raise AssertionError("the event after a fresh snapshot does not straddle it")

    async def on_event(self, e: dict[str, Any]) -> None:
        """One ``depthUpdate`` from the stream."""
        assert e.get("e") == "depthUpdate", e
        if self.last is None:
            self.buffer.append(e)
            await self._sync()
            return
        if not self._accept(e):
            self.gaps += 1
            self.last = None
            self.buffer = [e]
            await self._sync()

    def top(self, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The best ``n`` levels of each side."""
        return (
            sorted(self.bids.items(), reverse=True)[:n],
            sorted(self.asks.items())[:n],
        )
