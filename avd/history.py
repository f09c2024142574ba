"""Candle history: the :class:`Candles` columns, files, and the bundled sample.

Files follow the ``SYMBOL-INTERVAL.csv.gz`` naming of ``../shared/data``
(``BTCUSDT-1m.csv.gz``); plain ``.csv`` and Binance's raw kline CSV (no
header, 12 columns) are read too. Parsing is done by the Rust core.
Klines given one by one (the collector's, stored rows, a Binance REST
answer) become columns in one place: :func:`candles_from_klines`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from avd import _core
from avd.exceptions import DataError
from avd.types import FloatArray, IntArray

_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]{2,32})-(?P<interval>1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)\.csv(\.gz)?$"
)


@dataclass(frozen=True)
class Candles:
    """Candle columns of one symbol and interval, oldest first.

    Optional columns a source does not carry are NaN.
    """

    symbol: str
    interval: str
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    quote_volume: FloatArray
    trades: FloatArray
    taker_buy_base: FloatArray

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def tail(self, n: int) -> Candles:
        """The last ``n`` candles."""
        cut = slice(max(len(self) - n, 0), None)
        return Candles(
            self.symbol,
            self.interval,
            *(np.ascontiguousarray(getattr(self, f)[cut]) for f in _COLUMNS),
        )


_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "taker_buy_base",
)


def parse_name(path: Path) -> tuple[str, str]:
    """``(symbol, interval)`` from a ``SYMBOL-INTERVAL.csv[.gz]`` file name.

    Raises
    ------
    DataError
        If the name does not follow the convention.
    """
    m = _NAME.match(path.name)
    if m is None:
        raise DataError(
            f"{path.name}: candle files are named SYMBOL-INTERVAL.csv.gz (e.g. BTCUSDT-1m.csv.gz)"
        )
    return m["symbol"], m["interval"]


def read_candles(
    path: str | Path, symbol: str | None = None, interval: str | None = None
) -> Candles:
    """Read one candle file; symbol and interval default to the file name's."""
    p = Path(path)
    if symbol is None or interval is None:
        sym, iv = parse_name(p)
        symbol = symbol or sym
        interval = interval or iv
    cols = _core.read_candles(p)
    return Candles(symbol, interval, *(cols[f] for f in _COLUMNS))


#: where Binance's kline array keeps each column (6 is the close time; 10, 11 unused)
_BINANCE_FIELD = {
    "open_time": 0,
    "open": 1,
    "high": 2,
    "low": 3,
    "close": 4,
    "volume": 5,
    "quote_volume": 7,
    "trades": 8,
    "taker_buy_base": 9,
}


def _field(kline: Any, name: str) -> Any:
    if isinstance(kline, list | tuple):
        i = _BINANCE_FIELD[name]
        return kline[i] if i < len(kline) else None
    return getattr(kline, name, None)


def candles_from_klines(symbol: str, interval: str, klines: Sequence[Any]) -> Candles:
    """Candle columns from klines given one by one, oldest first.

    A kline is anything with the column names as attributes (a
    :class:`~avd.domain.events.KlineReceived`, a stored candle row) or
    Binance's kline array (``[open_time, open, high, low, close, volume,
    close_time, quote_volume, trades, taker_buy_base, ...]``, numbers or
    decimal strings). A value a kline lacks, or holds as ``None`` or ``""``,
    is NaN.

    Raises
    ------
    ValueError
        When a value is not a number (the message names the kline's index).
    """
    n = len(klines)
    cols: dict[str, Any] = {"open_time": np.empty(n, dtype=np.int64)}
    for name in _COLUMNS[1:]:
        cols[name] = np.empty(n, dtype=np.float64)
    for i, k in enumerate(klines):
        try:
            cols["open_time"][i] = int(_field(k, "open_time"))
            for name in _COLUMNS[1:]:
                v = _field(k, name)
                cols[name][i] = np.nan if v is None or v == "" else float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"kline {i}: {exc}") from None
    return Candles(symbol, interval, *(cols[f] for f in _COLUMNS))


def discover(path: str | Path) -> list[Path]:
    """The candle files at ``path``.

    The file itself, or every ``SYMBOL-INTERVAL.csv[.gz]`` in a folder,
    sorted by name.

    Raises
    ------
    DataError
        If the path does not exist or a folder holds no candle file.
    """
    p = Path(path)
    if p.is_file():
        parse_name(p)
        return [p]
    if not p.is_dir():
        raise DataError(f"{p}: no such file or folder")
    files = sorted(f for f in p.iterdir() if f.is_file() and _NAME.match(f.name))
    if not files:
        raise DataError(f"{p}: no SYMBOL-INTERVAL.csv.gz candle files in this folder")
    return files


def sample_dir() -> Path:
    """The folder of bundled sample candles (real Binance 1m data)."""
    return Path(str(resources.files("avd") / "sample"))


@dataclass(frozen=True)
class IntervalChoice:
    """The one candle interval used from files of several intervals per symbol.

    A backtest trades one strategy interval and the simulator replays one
    interval, so a folder such as ``../shared/data`` (1m, 5m, 1h and 1d files)
    is read at one interval: :attr:`interval`, for :attr:`symbols`.
    """

    interval: str
    #: the symbols that have a file of :attr:`interval`, sorted
    symbols: list[str]
    #: symbols in the data without a file of :attr:`interval`
    skipped: list[str]
    #: every interval found in the data, finest first
    available: list[str]
    #: True when the interval was asked for (``--interval``), not chosen
    given: bool

    @property
    def was_choice(self) -> bool:
        """True when files were left out (other intervals or skipped symbols)."""
        return len(self.available) > 1 or bool(self.skipped)

    def note(self) -> str:
        """One line saying what was chosen and why."""
        why = (
            "as asked"
            if self.given
            else "the finest interval every symbol has"
            if not self.skipped
            else "the finest interval in the data"
        )
        line = f"{self.interval} candles of {', '.join(self.symbols)} ({why}"
        others = [i for i in self.available if i != self.interval]
        if others:
            line += f"; also in the data: {', '.join(others)}"
        if not self.given:
            line += "; --interval picks another"
        line += ")"
        if self.skipped:
            line += f"; without {self.interval} candles: {', '.join(self.skipped)}"
        return line


def utc_text(ms: int) -> str:
    """A time in ms since the epoch as ``YYYY-MM-DD HH:MM`` (UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def interval_key(interval: str) -> int:
    """Sort key of an interval name: its length in ms (``1m`` < ``5m`` < ``1h``)."""
    return _core.interval_ms(interval)


def choose_interval(
    available: Mapping[str, Collection[str]], interval: str | None = None
) -> IntervalChoice:
    """The interval to read from candle files of several intervals, and who has it.

    Parameters
    ----------
    available
        The intervals found per symbol.
    interval
        The interval asked for; ``None`` chooses the finest interval every
        symbol has, else (the symbols share none) the finest interval found.

    Raises
    ------
    DataError
        If no symbol has a file of the interval asked for.
    """
    if not available:
        raise DataError("no candle files")
    every = sorted({i for ivs in available.values() for i in ivs}, key=interval_key)
    if interval is None:
        shared = set.intersection(*(set(v) for v in available.values()))
        chosen = min(shared or set(every), key=interval_key)
    else:
        interval_key(interval)  # an unknown interval is a clear error
        chosen = interval
    having = sorted(s for s, ivs in available.items() if chosen in ivs)
    if not having:
        raise DataError(
            f"no {chosen} candle files (the data has {', '.join(every)}): "
            "give one of those with --interval"
        )
    return IntervalChoice(
        interval=chosen,
        symbols=having,
        skipped=sorted(set(available) - set(having)),
        available=every,
        given=interval is not None,
    )


def intervals_by_symbol(files: Iterable[Path]) -> dict[str, dict[str, Path]]:
    """``{symbol: {interval: file}}`` for ``SYMBOL-INTERVAL.csv[.gz]`` files."""
    out: dict[str, dict[str, Path]] = {}
    for f in files:
        symbol, interval = parse_name(f)
        out.setdefault(symbol, {})[interval] = f
    return out
