"""Candle history files: discovery, loading, and the bundled sample.

Files follow the ``SYMBOL-INTERVAL.csv.gz`` naming of ``../shared/data``
(``BTCUSDT-1m.csv.gz``); plain ``.csv`` and Binance's raw kline CSV (no
header, 12 columns) are read too. Parsing is done by the Rust core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

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
