"""The replayed market: the replay clock and each symbol's candle state.

One simulated clock drives every symbol. Each :meth:`Market.step` advances it
by ``step_ms`` and moves every symbol's forming candle along a deterministic
price path through its recorded values: ``O -> L -> H -> C`` for a rising
candle, ``O -> H -> L -> C`` for a falling one, linear in time, rounded to the
symbol's tick. Volume and trade count grow with the fraction of the interval
that elapsed; each step's increment is one synthesized aggregate trade at the
step's price (seller-initiated when the price fell). When the interval ends
the candle closes with exactly the recorded values, so the one ``x: true``
kline equals the REST row. The order book is a pure function of the last
price and the update id (see :mod:`.book`), so snapshots always sit on event
boundaries. Everything is deterministic for a given data set, start and step.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avd.exceptions import DataError
from avd.history import (
    Candles,
    IntervalChoice,
    choose_interval,
    discover,
    intervals_by_symbol,
    read_candles,
)
from avd.types import FloatArray

from .book import Book
from .numbers import SCALE, decimals_of, fmt_units, to_units

INTERVAL_MS = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}
DAY_MS = 86_400_000

# kline tuple layout (all ints, prices and volumes in 1e-8 units)
K_OPEN_TIME, K_O, K_H, K_L, K_C, K_V, K_CLOSE_TIME, K_Q, K_N, K_TBB, K_TBQ = range(11)
Kline = tuple[int, int, int, int, int, int, int, int, int, int, int]


def _filled(col: FloatArray, fallback: FloatArray) -> FloatArray:
    return np.where(np.isnan(col), fallback, col)


@dataclass(frozen=True)
class Series:
    """The recorded candles of one symbol, as integer units, missing fields synthesized.

    Missing quote volume is ``volume x (O+H+L+C)/4``, missing trade counts
    are one trade per replay step with volume, missing taker-buy volume is
    half the volume. ``taker_buy_quote`` (not in the reader's columns) is
    ``taker_buy_base x quote / volume``.
    """

    symbol: str
    interval: str
    interval_ms: int
    open_time: np.ndarray
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray  # noqa: E741 - Binance's letter
    c: np.ndarray
    v: np.ndarray
    q: np.ndarray
    n: np.ndarray
    tbb: np.ndarray
    tbq: np.ndarray
    price_decimals: int
    mean_volume: float

    @classmethod
    def from_candles(cls, cd: Candles, step_ms: int) -> Series:
        """Convert reader columns, synthesizing the fields the source lacks."""
        if len(cd) == 0:
            raise DataError(f"{cd.symbol}-{cd.interval}: no candles")
        if cd.interval not in INTERVAL_MS:
            raise DataError(f"{cd.interval}: unsupported interval")
        iv = INTERVAL_MS[cd.interval]
        typical = (cd.open + cd.high + cd.low + cd.close) / 4.0
        quote = _filled(cd.quote_volume, cd.volume * typical)
        steps = max(iv // step_ms, 1)
        trades = _filled(cd.trades, np.where(cd.volume > 0, float(steps), 0.0))
        tbb = _filled(cd.taker_buy_base, cd.volume / 2.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            tbq = np.where(cd.volume > 0, tbb * quote / cd.volume, 0.0)
        prices = np.concatenate([cd.open, cd.high, cd.low, cd.close])
        return cls(
            symbol=cd.symbol,
            interval=cd.interval,
            interval_ms=iv,
            open_time=np.ascontiguousarray(cd.open_time, dtype=np.int64),
            o=to_units(cd.open),
            h=to_units(cd.high),
            l=to_units(cd.low),
            c=to_units(cd.close),
            v=to_units(cd.volume),
            q=to_units(quote),
            n=np.rint(trades).astype(np.int64),
            tbb=to_units(tbb),
            tbq=to_units(tbq),
            price_decimals=max(decimals_of(prices), 0),
            mean_volume=float(np.nanmean(cd.volume)),
        )

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def kline(self, i: int) -> Kline:
        """Candle ``i`` as a closed kline tuple."""
        ot = int(self.open_time[i])
        return (
            ot,
            int(self.o[i]),
            int(self.h[i]),
            int(self.l[i]),
            int(self.c[i]),
            int(self.v[i]),
            ot + self.interval_ms - 1,
            int(self.q[i]),
            int(self.n[i]),
            int(self.tbb[i]),
            int(self.tbq[i]),
        )


def rest_row(k: Kline) -> list[object]:
    """A kline tuple as Binance's 12-item REST row."""
    return [
        k[K_OPEN_TIME],
        fmt_units(k[K_O]),
        fmt_units(k[K_H]),
        fmt_units(k[K_L]),
        fmt_units(k[K_C]),
        fmt_units(k[K_V]),
        k[K_CLOSE_TIME],
        fmt_units(k[K_Q]),
        k[K_N],
        fmt_units(k[K_TBB]),
        fmt_units(k[K_TBQ]),
        "0",
    ]


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
        if not silent:
            self.update_id += 1
        return Tick(s.symbol, self.cur, closed, self.first_trade, self.last_trade, agg, lo, hi)

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
                series=s, tick_units=tick, book=Book(tick, base, book_levels), trade_base=trade_base
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


def replay_files(
    data: Path, symbols: list[str], interval: str | None = None
) -> tuple[IntervalChoice, dict[str, Path]]:
    """The one file per symbol the replay reads from ``data``, and the interval chosen.

    A folder may hold several intervals per symbol (``../shared/data``): one
    interval is replayed, ``interval`` or the finest every symbol has (see
    :func:`avd.history.choose_interval`).

    Raises
    ------
    DataError
        If a symbol asked for has no file (of the interval).
    """
    found = intervals_by_symbol(discover(data))
    wanted = sorted({s.upper() for s in symbols})
    missing = [s for s in wanted if s not in found]
    if missing:
        raise DataError(f"{data}: no candle file for {', '.join(missing)}")
    if wanted:
        found = {s: found[s] for s in wanted}
    choice = choose_interval({s: list(ivs) for s, ivs in found.items()}, interval)
    if wanted and choice.skipped:
        raise DataError(f"{data}: no {choice.interval} candle file for {', '.join(choice.skipped)}")
    return choice, {s: found[s][choice.interval] for s in choice.symbols}


def load_series(
    data: Path, symbols: list[str], step_ms: int, interval: str | None = None
) -> list[Series]:
    """The series replayed from ``data``: one interval (see :func:`replay_files`)."""
    _, files = replay_files(data, symbols, interval)
    out = [Series.from_candles(read_candles(f), step_ms) for f in files.values()]
    out.sort(key=lambda s: s.symbol)
    return out


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
