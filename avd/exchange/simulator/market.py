"""The replayed market: the replay clock and each symbol's candle state.

One simulated clock drives every symbol. Each :meth:`Market.step` advances it
by ``step_ms`` and moves every symbol's forming candle along a deterministic
price path through its recorded values: ``O -> L -> H -> C`` for a rising
candle, ``O -> H -> L -> C`` for a falling one, linear in time, rounded to the
symbol's tick. Volume and trade count grow with the fraction of the interval
that elapsed; each step's increment is one synthesized aggregate trade at the
step's price (seller-initiated when the price fell). When the interval ends
the candle closes with exactly the recorded values, so the one ``x: true``
kline equals the REST row. Each step also moves the symbol's stateful book
(see :mod:`.book`) and takes its changes as one diff covering one update id
per changed level (``U`` .. ``u``); snapshots are read between steps, so they
always sit on diff boundaries. Everything is deterministic for a given data
set, start, step and book seed.

The recorded candles themselves (:class:`Series`, the files read) are in
:mod:`.series`.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from avd.exceptions import DataError

from .book import Book, Levels
from .numbers import SCALE
from .series import (
    DAY_MS,
    INTERVAL_MS,
    K_C,
    K_H,
    K_L,
    K_N,
    K_O,
    K_OPEN_TIME,
    K_Q,
    K_V,
    Kline,
    Series,
    load_series,
    replay_files,
    rest_row,
)


@dataclass(slots=True)
class AggTrade:
    """One synthesized aggregate trade."""

    a: int
    p: int
    q: int
    f: int
    l: int  # noqa: E741 - Binance's letter
    t: int
    m: bool


@dataclass(slots=True)
class Tick:
    """What one clock step did to one symbol."""

    symbol: str
    kline: Kline
    closed: bool
    first_trade: int
    last_trade: int
    agg: AggTrade | None
    low: int
    high: int
    #: the step's depth diff: first and last update id, bid and ask changes
    first_update: int = 0
    last_update: int = 0
    bids: Levels = field(default_factory=list)
    asks: Levels = field(default_factory=list)


@dataclass
class SymbolMarket:
    """The live state of one replayed symbol."""

    series: Series
    tick_units: int
    book: Book
    trade_base: np.ndarray
    i: int = -1
    elapsed: int = 0
    price: int = 0
    prev_price: int = 0
    update_id: int = 0
    agg_id: int = 1
    trade_id: int = 1
    cur: Kline | None = None
    v_emit: int = 0
    n_emit: int = 0
    first_trade: int = -1
    last_trade: int = -1
    last_qty: int = 0
    last_m: bool = False
    aggs: deque[AggTrade] = field(default_factory=deque)
    _path: tuple[list[int], list[int]] = ([], [])

    @property
    def symbol(self) -> str:
        """The symbol name."""
        return self.series.symbol

    def _locate(self, target: int) -> int | None:
        ot = self.series.open_time
        j = int(np.searchsorted(ot, target, side="right")) - 1
        if j < 0 or target >= int(ot[j]) + self.series.interval_ms:
            return None
        return j

    def _open_candle(self, i: int) -> None:
        s = self.series
        self.i = i
        self.elapsed = 0
        o, h, lo, c = int(s.o[i]), int(s.h[i]), int(s.l[i]), int(s.c[i])
        verts = [o, lo, h, c] if c >= o else [o, h, lo, c]
        cum = [0]
        for a, b in itertools.pairwise(verts):
            cum.append(cum[-1] + abs(b - a))
        self._path = (verts, cum)
        ot = int(s.open_time[i])
        self.cur = (ot, o, o, o, o, 0, ot + s.interval_ms - 1, 0, 0, 0, 0)
        self.v_emit = self.n_emit = 0
        self.trade_id = int(self.trade_base[i])
        self.first_trade = self.last_trade = -1
        self.price = o

    def _price_at(self, d: int) -> int:
        verts, cum = self._path
        for k in range(1, len(verts)):
            if d <= cum[k]:
                a, b = verts[k - 1], verts[k]
                p = a + (d - cum[k - 1]) * (1 if b >= a else -1)
                t = self.tick_units
                p = (p + t // 2) // t * t
                return p
        return verts[-1]

    def prime(self, t: int) -> None:
        """Place the state at clock ``t`` without emitting (history before ``t`` is closed)."""
        j = self._locate(t - 1)
        if j is None:
            k = int(np.searchsorted(self.series.open_time, t - 1, side="right")) - 1
            if k < 0:
                self.price = int(self.series.o[0])
            else:
                self._open_candle(k)
                self._finish(self.series.interval_ms, t, silent=True)
        else:
            self._open_candle(j)
            self._finish(min(t - int(self.series.open_time[j]), self.series.interval_ms), t, True)
        self.prev_price = self.price
        self.agg_id = self.trade_id
        self.book.reset(self.price)

    def advance(self, t: int) -> list[Tick]:
        """Move to clock ``t``; the ticks produced (none in a gap or after the data)."""
        out: list[Tick] = []
        iv = self.series.interval_ms
        j = self._locate(t - 1)
        if self.i >= 0 and j != self.i and self.elapsed < iv:
            out.append(self._finish(iv, t, silent=False))
        if j is None:
            return out
        if j != self.i:
            self._open_candle(j)
        out.append(self._finish(min(t - int(self.series.open_time[j]), iv), t, silent=False))
        return out

    def _finish(self, elapsed: int, t: int, silent: bool) -> Tick:
        s, i = self.series, self.i
        iv = s.interval_ms
        _, cum = self._path
        d_prev = cum[-1] * self.elapsed // iv
        d = cum[-1] * elapsed // iv
        before = self.price
        p = self._price_at(d)
        lo, hi = min(before, p), max(before, p)
        for k, x in enumerate(self._path[0]):
            if d_prev < cum[k] <= d:
                lo, hi = min(lo, x), max(hi, x)
        closed = elapsed >= iv
        vol, cnt = int(s.v[i]), int(s.n[i])
        v_t = vol if closed else vol * elapsed // iv
        n_t = cnt if closed else cnt * elapsed // iv
        qty, nt = v_t - self.v_emit, n_t - self.n_emit
        agg: AggTrade | None = None
        self.prev_price = before
        self.price = p
        if qty > 0 and nt > 0:
            first = self.trade_id
            self.trade_id += nt
            m = p < before or (p == before and self.last_m)
            agg = AggTrade(self.agg_id, p, qty, first, first + nt - 1, t - 1, m)
            self.agg_id += 1
            self.v_emit, self.n_emit = v_t, n_t
            if self.first_trade < 0:
                self.first_trade = first
            self.last_trade = first + nt - 1
            self.last_qty, self.last_m = qty, m
            if not silent:
                self.aggs.append(agg)
        self.elapsed = elapsed
        assert self.cur is not None
        ot, o = self.cur[K_OPEN_TIME], self.cur[K_O]
        if closed:
            self.cur = s.kline(i)
        else:
            q_t = int(s.q[i]) * elapsed // iv
            self.cur = (
                ot,
                o,
                max(self.cur[K_H], hi),
                min(self.cur[K_L], lo),
                p,
                self.v_emit,
                ot + iv - 1,
                q_t,
                self.n_emit,
                int(s.tbb[i]) * elapsed // iv,
                int(s.tbq[i]) * elapsed // iv,
            )
        tick = Tick(s.symbol, self.cur, closed, self.first_trade, self.last_trade, agg, lo, hi)
        if not silent:
            book = self.book
            book.step(p, agg.q if agg is not None else 0, agg.m if agg is not None else False)
            tick.first_update = self.update_id + 1
            self.update_id += max(book.pending, 1)
            tick.last_update = self.update_id
            tick.bids, tick.asks = book.take_diff()
        return tick

    def klines(self, start: int | None, end: int | None, limit: int) -> list[Kline]:
        """Rows by open time, oldest first, up to the forming candle (REST rules)."""
        s = self.series
        last = self.i if self.i >= 0 else -1
        if last < 0:
            return []
        ot = s.open_time
        hi = last + 1
        if end is not None:
            hi = min(hi, int(np.searchsorted(ot, end, side="right")))
        if start is not None:
            lo = int(np.searchsorted(ot, start, side="left"))
            rng = range(lo, min(hi, lo + limit))
        else:
            rng = range(max(hi - limit, 0), hi)
        out = []
        for k in rng:
            out.append(self.cur if k == self.i and self.cur is not None else s.kline(k))
        return out

    def window(self, now: int, ms: int = DAY_MS) -> dict[str, int]:
        """Rolling statistics over the last ``ms`` (24h ticker)."""
        s, cur = self.series, self.cur
        if cur is None:
            p = self.price
            return {
                "open": p,
                "high": p,
                "low": p,
                "last": p,
                "v": 0,
                "q": 0,
                "n": 0,
                "prev": p,
                "open_time": now - ms,
            }
        j0 = int(np.searchsorted(s.open_time, now - ms, side="left"))
        j1 = self.i
        o = int(s.o[j0]) if j0 < j1 else cur[K_O]
        high, low = cur[K_H], cur[K_L]
        v, q, n = cur[K_V], cur[K_Q], cur[K_N]
        if j0 < j1:
            high = max(high, int(s.h[j0:j1].max()))
            low = min(low, int(s.l[j0:j1].min()))
            v += int(s.v[j0:j1].sum())
            q += int(s.q[j0:j1].sum())
            n += int(s.n[j0:j1].sum())
        prev = int(s.c[j0 - 1]) if j0 > 0 else o
        return {
            "open": o,
            "high": high,
            "low": low,
            "last": cur[K_C],
            "v": v,
            "q": q,
            "n": n,
            "prev": prev,
            "open_time": int(s.open_time[j0]) if j0 <= j1 else now - ms,
        }


class Market:
    """Every replayed symbol on one simulated clock."""

    def __init__(
        self,
        series: list[Series],
        step_ms: int,
        start_ms: int | None,
        book_levels: int,
        agg_trades_kept: int,
        book_seed: int = 0,
    ) -> None:
        if not series:
            raise DataError("no candle series to replay")
        self.step_ms = step_ms
        self.symbols: dict[str, SymbolMarket] = {}
        for s in series:
            if s.symbol in self.symbols:
                raise DataError(f"{s.symbol}: one candle series per symbol is replayed")
            tick = 10 ** (8 - s.price_decimals)
            base = max(int(s.mean_volume * SCALE / 20), 1)
            trade_base = np.concatenate([[1], np.cumsum(s.n)[:-1] + 1]).astype(np.int64)
            sm = SymbolMarket(
                series=s,
                tick_units=tick,
                book=Book(tick, base, book_levels, s.symbol, book_seed),
                trade_base=trade_base,
            )
            sm.aggs = deque(maxlen=agg_trades_kept)
            self.symbols[s.symbol] = sm
        first = min(int(s.open_time[0]) for s in series)
        self.end = max(int(s.open_time[-1]) + s.interval_ms for s in series)
        self.now = first if start_ms is None else start_ms
        for sm in self.symbols.values():
            sm.update_id = self.now // step_ms
            sm.prime(self.now)

    @property
    def finished(self) -> bool:
        """True once the clock passed the end of every series."""
        return self.now >= self.end

    def step(self) -> list[Tick]:
        """Advance the clock one step; every symbol's ticks."""
        if self.finished:
            return []
        self.now += self.step_ms
        out: list[Tick] = []
        for sm in self.symbols.values():
            out.extend(sm.advance(self.now))
        return out

    def get(self, symbol: str) -> SymbolMarket | None:
        """The symbol's state, or None for a symbol not replayed."""
        return self.symbols.get(symbol)


# the series names were defined here first: still importable from here
__all__ = [
    "INTERVAL_MS",
    "Kline",
    "Market",
    "Series",
    "SymbolMarket",
    "Tick",
    "load_series",
    "replay_files",
    "rest_row",
]
