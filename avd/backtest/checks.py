"""What a backtest command checks before it runs.

A run that cannot be useful is refused up front, with one line: a window
that is empty or holds no candle (it would report 0 trades and look like a
result), finer candles that do not overlap the traded ones (they would be
ignored), a report folder that cannot be written (it would fail only after
the run).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avd import _core
from avd.exceptions import ConfigError, DataError
from avd.history import Candles, utc_text

_FAR_FUTURE = 2**62


def check_out(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be created or written.

    The report is written beside ``out`` (a temporary folder renamed into
    place), so the nearest existing folder above it must take a new entry.
    Nothing is left behind by the check.

    Raises
    ------
    ConfigError
        Naming the folder and the reason.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {out}: exists and is not a folder")
    base = out.parent
    while not base.exists():
        base = base.parent
    targets = [base] + ([out] if out.is_dir() else [])
    for folder in targets:
        if not folder.is_dir():
            raise ConfigError(f"{option} {out}: {folder} is not a folder")
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".avd-check.", dir=folder))
        except OSError as exc:
            raise ConfigError(f"{option} {out}: cannot write in {folder}: {exc.strerror}") from None


def check_window(start: int | None, end: int | None) -> None:
    """Refuse ``--from`` at or after ``--to``.

    Raises
    ------
    ConfigError
        With both times.
    """
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            f"--from {utc_text(start)} is not before --to {utc_text(end)} (UTC): nothing to trade"
        )


def _span(c: Candles) -> tuple[int, int]:
    """``[first open, last close)`` of a series, ms."""
    last = int(c.open_time[-1])
    return int(c.open_time[0]), _core.next_open_time(c.interval, last)


def _describe(c: Candles) -> str:
    lo, hi = _span(c)
    return f"{c.symbol} {c.interval} ({utc_text(lo)} → {utc_text(hi)} UTC)"


def check_in_data(candles: Sequence[Candles], start: int | None, end: int | None) -> None:
    """Refuse a ``--from``/``--to`` window that holds no candle of any symbol.

    Raises
    ------
    DataError
        Naming the window and what the data covers.
    """
    if start is None and end is None:
        return
    lo, hi = start if start is not None else 0, end if end is not None else _FAR_FUTURE
    for c in candles:
        ot = c.open_time
        first = int(np.searchsorted(ot, lo, side="left"))
        if first < len(ot) and int(ot[first]) < hi:
            return
    window = f"{utc_text(lo) if start is not None else '…'} → "
    window += utc_text(hi) if end is not None else "…"
    raise DataError(
        f"--from/--to ({window} UTC) holds no candle: the data covers "
        + ", ".join(_describe(c) for c in candles)
    )


def check_lower_overlap(
    candles: Sequence[Candles], lower: Sequence[Candles], start: int | None, end: int | None
) -> None:
    """Refuse finer candles that do not overlap the traded candles of their symbol.

    The traded candles are those inside ``--from``/``--to`` (all without).

    Raises
    ------
    DataError
        Naming both ranges.
    """
    traded = {c.symbol: c for c in candles}
    for f in lower:
        c = traded.get(f.symbol)
        if c is None or len(f) == 0 or len(c) == 0:
            continue
        lo, hi = _span(c)
        lo = max(lo, start) if start is not None else lo
        hi = min(hi, end) if end is not None else hi
        f_lo, f_hi = _span(f)
        if f_lo >= hi or f_hi <= lo:
            raise DataError(
                f"--lower: {_describe(f)} does not overlap the traded {c.symbol} {c.interval} "
                f"candles ({utc_text(lo)} → {utc_text(hi)} UTC)"
            )
