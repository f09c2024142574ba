"""Candle files for the backtester: the ../shared/data CSV, Binance's raw kline CSV and JSON.

File names give the symbol and interval: ``BTCUSDT-1m.csv.gz`` (AVD's
layout), ``BTCUSDT-1m-2024-01.csv`` (data.binance.vision's monthly dumps) or
``BTCUSDT-1h.json`` (a ``GET /api/v3/klines`` response saved as is: a list
of 12-field arrays). Several files of one symbol and interval (monthly
dumps) are joined; overlapping candles are kept once.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from avd import _core
from avd.exceptions import DataError
from avd.history import (
    Candles,
    IntervalChoice,
    candles_from_klines,
    choose_interval,
    interval_key,
)

_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]{2,32})-(?P<interval>1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)"
    r"(?:-[0-9A-Za-z_-]+)?\.(?P<ext>csv|json)(?:\.gz)?$"
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


def name_of(path: Path) -> tuple[str, str, str]:
    """``(symbol, interval, 'csv' | 'json')`` from a candle file's name.

    Raises
    ------
    DataError
        If the name does not follow ``SYMBOL-INTERVAL[-suffix].csv|json[.gz]``.
    """
    m = _NAME.match(path.name)
    if m is None:
        raise DataError(
            f"{path.name}: candle files are named SYMBOL-INTERVAL[-suffix].csv|json[.gz] "
            "(e.g. BTCUSDT-1m.csv.gz, BTCUSDT-1m-2024-01.csv, BTCUSDT-1h.json)"
        )
    return m["symbol"], m["interval"], m["ext"]


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Every candle file named by ``paths`` (files, or folders of them), sorted.

    Raises
    ------
    DataError
        If a path does not exist or a folder holds no candle file.
    """
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_file():
            name_of(p)
            out.append(p)
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and _NAME.match(f.name))
            if not files:
                raise DataError(f"{p}: no SYMBOL-INTERVAL.csv|json candle files in this folder")
            out.extend(files)
        else:
            raise DataError(f"{p}: no such file or folder")
    return sorted(set(out))


def read_kline_json(path: Path) -> dict[str, Any]:
    """Columns of a Binance ``/api/v3/klines`` JSON response (a list of arrays).

    Raises
    ------
    DataError
        If the file is not a list of kline arrays of 6 to 12 fields.
    """
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        rows = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path.name}: not JSON ({exc})") from None
    if not isinstance(rows, list) or not all(
        isinstance(r, list) and 6 <= len(r) <= 12 for r in rows
    ):
        raise DataError(f"{path.name}: expected a list of Binance kline arrays [open_time, ...]")
    try:
        c = candles_from_klines("", "", rows)
    except ValueError as exc:
        raise DataError(f"{path.name}: {exc}") from None
    return {f: getattr(c, f) for f in _COLUMNS}


def _read_one(path: Path) -> dict[str, Any]:
    if name_of(path)[2] == "json":
        return read_kline_json(path)
    cols = _core.read_candles(path)
    return {f: cols[f] for f in _COLUMNS}


def load(paths: Iterable[str | Path]) -> list[Candles]:
    """The candles of every symbol and interval found at ``paths``.

    Raises
    ------
    DataError
        For a missing path, a badly named file or a file that does not parse.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in discover(paths):
        sym, iv, _ = name_of(f)
        try:
            groups.setdefault((sym, iv), []).append(_read_one(f))
        except (ValueError, OSError) as exc:
            raise DataError(f"{f.name}: {exc}") from None
    out = []
    for (sym, iv), parts in sorted(groups.items()):
        cat = {k: np.concatenate([p[k] for p in parts]) for k in _COLUMNS}
        # Sorted, each open time once (monthly dumps may overlap).
        _, keep = np.unique(cat["open_time"], return_index=True)
        out.append(Candles(sym, iv, *(np.ascontiguousarray(cat[k][keep]) for k in _COLUMNS)))
    return out


def _by_symbol(files: Iterable[Path]) -> dict[str, dict[str, list[Path]]]:
    out: dict[str, dict[str, list[Path]]] = {}
    for f in files:
        sym, iv, _ = name_of(f)
        out.setdefault(sym, {}).setdefault(iv, []).append(f)
    return out


def load_one_interval(
    paths: Iterable[str | Path], interval: str | None = None
) -> tuple[list[Candles], IntervalChoice]:
    """The candles at ``paths`` at one interval (a backtest trades one).

    ``interval``, or the finest interval every symbol has (see
    :func:`avd.history.choose_interval`): ``../shared/data`` holds 1m, 5m,
    1h and 1d files of the same symbols.

    Raises
    ------
    DataError
        As :func:`load`, or when no file has the interval.
    """
    found = _by_symbol(discover(paths))
    choice = choose_interval({s: list(ivs) for s, ivs in found.items()}, interval)
    return load(f for s in choice.symbols for f in found[s][choice.interval]), choice


def load_lower(
    paths: Iterable[str | Path], traded: Mapping[str, str]
) -> tuple[list[Candles], str | None]:
    """Finer candles for the traded symbols: each symbol's finest interval at ``paths``.

    Files of other symbols in a folder are left out; a file named
    explicitly must be of a traded symbol.

    Parameters
    ----------
    traded
        The traded interval per symbol.

    Returns
    -------
    The candles, and a line saying what was chosen when a symbol had several
    intervals (else None).

    Raises
    ------
    DataError
        For a file of a symbol not traded, or as :func:`load`.
    """
    given = [Path(p) for p in paths]
    named = sorted({name_of(p)[0] for p in given if p.is_file()} - set(traded))
    if named:
        raise DataError(
            f"--lower: {', '.join(named)} is not traded (traded: {', '.join(sorted(traded))})"
        )
    found = {s: ivs for s, ivs in _by_symbol(discover(given)).items() if s in traded}
    if not found:
        raise DataError(f"--lower: no candles of the traded symbols ({', '.join(sorted(traded))})")
    chosen = {s: min(ivs, key=interval_key) for s, ivs in found.items()}
    note = None
    if any(len(ivs) > 1 for ivs in found.values()):
        note = "finer candles: " + ", ".join(f"{s} {iv}" for s, iv in sorted(chosen.items()))
        note += " (the finest of each symbol)"
    return load(f for s, iv in chosen.items() for f in found[s][iv]), note
