"""The synthesized order book: a pure function of the last price and the update id.

Best bid is the last trade price, best ask one tick above, then one level
per tick on each side. A level's quantity depends on its price (so the book
keeps its shape as the price moves) and, for the three levels nearest the
touch, on the update id (so diffs also carry quantity changes). Because a
snapshot is recomputed from ``(price, update_id)`` of the last published
step, REST snapshots always sit exactly on diff boundaries.
"""

from __future__ import annotations

Levels = list[tuple[int, int]]


def _mix(x: int) -> int:
    return ((x * 2654435761) ^ (x >> 7)) & 0xFFFFFFFF


class Book:
    """Order-book levels of one symbol, in 1e-8 units."""

    def __init__(self, tick: int, base_qty: int, levels: int) -> None:
        self.tick = tick
        self.base = base_qty
        self.levels = levels

    def qty(self, price: int, k: int, uid: int) -> int:
        """Quantity at ``price``, the ``k``-th level of its side."""
        h = _mix(price // self.tick)
        q = self.base * (1 + (h >> 8) % 7)
        if k < 3:
            q = q * (2 + _mix(h ^ (uid * 40503)) % 3) // 2
        return q

    def top(self, price: int, uid: int) -> tuple[int, int, int, int]:
        """``(bid, bid_qty, ask, ask_qty)``."""
        ask = price + self.tick
        return price, self.qty(price, 0, uid), ask, self.qty(ask, 0, uid)

    def sides(self, price: int, uid: int, n: int | None = None) -> tuple[Levels, Levels]:
        """The best ``n`` levels of each side, best first."""
        n = self.levels if n is None else min(n, self.levels)
        t = self.tick
        bids = []
        for k in range(n):
            p = price - k * t
            if p <= 0:
                break
            bids.append((p, self.qty(p, k, uid)))
        asks = [(price + (k + 1) * t, self.qty(price + (k + 1) * t, k, uid)) for k in range(n)]
        return bids, asks

    def diff(self, prev_price: int, prev_uid: int, price: int, uid: int) -> tuple[Levels, Levels]:
        """The level changes from one state to the next (qty 0 removes a level)."""
        out: list[Levels] = []
        for before, after in zip(
            self.sides(prev_price, prev_uid), self.sides(price, uid), strict=True
        ):
            old = dict(before)
            new = dict(after)
            changes = [(p, q) for p, q in after if old.get(p) != q]
            changes.extend((p, 0) for p in old if p not in new)
            out.append(changes)
        return out[0], out[1]
