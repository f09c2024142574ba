"""The synthesized order book: one stateful, seeded book per symbol.

The book holds ``levels`` price levels on each side, one per tick, in exact
integer units of 1e-8: the best bid is the last trade price and the best ask
one tick above it (so the fill model's touch follows the replayed price).
Each clock step changes it in three ways, and records every change:

* the price moves: levels the price crossed are consumed (removed), the side
  the price left is replenished with fresh levels, and the far ends are
  trimmed or extended back to ``levels`` levels;
* the step's aggregate trade takes its quantity from the touch it hit (the
  bid for a seller-initiated trade, ``m`` true, else the ask); a level taken
  down to nothing is replenished;
* a few levels near the touch are requoted (a new quantity each).

Quantities come from a per-symbol ``random.Random`` seeded with the symbol
and ``seed``, so a replay with the same data, start and step is the same
book. :meth:`Book.take_diff` hands out the changes since the last call as
absolute quantities (``0`` removes a level): the ``depthUpdate`` stream. A
client that applies every diff to a snapshot holds exactly this book.
"""

from __future__ import annotations

import random
import zlib

Levels = list[tuple[int, int]]

#: how many levels on each side, nearest the touch, may be requoted each step
REQUOTED = 3


class Book:
    """The order book of one symbol, in 1e-8 units."""

    def __init__(self, tick: int, base_qty: int, levels: int, symbol: str, seed: int) -> None:
        self.tick = tick
        self.base = base_qty
        self.levels = levels
        self.rng = random.Random(zlib.crc32(symbol.encode()) ^ seed)
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.best_bid = 0
        self._bid_range = range(0)
        self._ask_range = range(0)
        self._bid_changes: dict[int, int] = {}
        self._ask_changes: dict[int, int] = {}

    # -- state ---------------------------------------------------------------------

    def _fresh(self) -> int:
        return self.base * (1 + self.rng.randrange(7))

    def _bid_prices(self, best: int) -> range:
        lowest = max(best - (self.levels - 1) * self.tick, self.tick)
        return range(best, lowest - 1, -self.tick) if best > 0 else range(0)

    def _ask_prices(self, best_bid: int) -> range:
        first = best_bid + self.tick
        return range(first, first + self.levels * self.tick, self.tick)

    def reset(self, price: int) -> None:
        """A whole new book around ``price`` (no diff: nobody follows it yet)."""
        self.best_bid = price
        self._bid_range = self._bid_prices(price)
        self._ask_range = self._ask_prices(price)
        self.bids = {p: self._fresh() for p in self._bid_range}
        self.asks = {p: self._fresh() for p in self._ask_range}
        self._bid_changes.clear()
        self._ask_changes.clear()

    def _set(self, side: dict[int, int], changes: dict[int, int], price: int, qty: int) -> None:
        if qty > 0:
            side[price] = qty
        else:
            side.pop(price, None)
        changes[price] = qty

    @staticmethod
    def _outside(a: range, b: range) -> list[int]:
        """The prices of ``a`` not in ``b`` (one-tick ranges: a prefix and a suffix of ``a``)."""
        out: list[int] = []
        for p in a:
            if p in b:
                break
            out.append(p)
        else:
            return out  # no overlap
        for p in reversed(a):
            if p in b:
                break
            out.append(p)
        return out

    def _reshape(
        self, side: dict[int, int], changes: dict[int, int], old: range, new: range
    ) -> None:
        # a side always holds exactly the prices of its range: only the ends change
        for p in self._outside(old, new):
            self._set(side, changes, p, 0)
        for p in self._outside(new, old):
            self._set(side, changes, p, self._fresh())

    def step(self, price: int, trade_qty: int, seller_initiated: bool) -> None:
        """One clock step: move to ``price``, trade ``trade_qty``, requote the touch."""
        self.best_bid = price
        bids, asks = self._bid_prices(price), self._ask_prices(price)
        self._reshape(self.bids, self._bid_changes, self._bid_range, bids)
        self._reshape(self.asks, self._ask_changes, self._ask_range, asks)
        self._bid_range, self._ask_range = bids, asks
        if trade_qty > 0:
            if seller_initiated and price in self.bids:
                side, changes, touch = self.bids, self._bid_changes, price
            else:
                side, changes, touch = self.asks, self._ask_changes, price + self.tick
            left = side[touch] - trade_qty
            self._set(side, changes, touch, left if left > 0 else self._fresh())
        for k in range(REQUOTED):
            for side, changes, p in (
                (self.bids, self._bid_changes, price - k * self.tick),
                (self.asks, self._ask_changes, price + (k + 1) * self.tick),
            ):
                if p in side and self.rng.random() < 0.5:
                    self._set(side, changes, p, self._fresh())

    def take_diff(self) -> tuple[Levels, Levels]:
        """The changes since the last call, best first (qty 0 removes a level)."""
        bids = sorted(self._bid_changes.items(), reverse=True)
        asks = sorted(self._ask_changes.items())
        self._bid_changes.clear()
        self._ask_changes.clear()
        return bids, asks

    @property
    def pending(self) -> int:
        """How many level changes :meth:`take_diff` would hand out."""
        return len(self._bid_changes) + len(self._ask_changes)

    # -- reading -------------------------------------------------------------------

    def top(self) -> tuple[int, int, int, int]:
        """``(bid, bid_qty, ask, ask_qty)``."""
        bid = self.best_bid
        ask = bid + self.tick
        return bid, self.bids.get(bid, 0), ask, self.asks.get(ask, 0)

    def sides(self, n: int | None = None) -> tuple[Levels, Levels]:
        """The best ``n`` levels of each side (all by default), best first."""
        bids = sorted(self.bids.items(), reverse=True)
        asks = sorted(self.asks.items())
        if n is not None:
            bids, asks = bids[:n], asks[:n]
        return bids, asks
