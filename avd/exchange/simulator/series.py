"""The recorded candles the simulator replays, as integer units.

:class:`Series` holds one symbol's candles in 1e-8 units with the fields a
source lacks synthesized; :func:`replay_files` and :func:`load_series` pick
and read the files of a data folder (one interval per replay). The kline
tuple layout (``K_*``), :func:`rest_row` (a kline as Binance's REST row) and
the interval lengths are shared by the market, the REST API and the streams.
"""

from __future__ import annotations

from dataclasses import dataclass
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

from .numbers import decimals_of, fmt_units, to_units

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
