"""The market scanner: the tracked streams ranked by context score and market quality.

Like freqtrade's pairlists, but scored. For every tracked stream of one
interval it measures, from the stream's stored closed candles:

* ``quote_volume_24h``: the quote volume of the candles of the last 24 hours;
* ``volatility``: the standard deviation of the last ``window`` one-candle log
  returns, in percent;
* ``stability``: 1 - the coefficient of variation of the last ``window``
  candles' ranges ((high - low) / close), floored at 0: 1 is a market whose
  candles keep the same size, 0 one that jumps between quiet and wild;
* ``age_days``: the days of candles the service holds for it;
* ``spread``: the best bid/ask spread in percent of the mid, from the live
  order book when the symbol's book is kept (``market.book_symbols``) and
  synced, else ``null`` (a ``max_spread`` filter keeps a symbol whose spread
  is unknown).

Filters (``market.scanner`` in the configuration, all optional) drop the
streams outside the bounds and keep the ``volume_top`` by quote volume. The
rest are ranked by ``score = context score x (0.5 + 0.5 x quality)``, where
``quality`` (0..1) is the mean of the stream's percentile ranks among them
for quote volume and stability: a strong context on a liquid, steady market
ranks first. The platform ranks each tracked interval on a candle-aligned
timer (just after each close, ``Platform.refresh_scanner``); a request that
comes after a newer candle closed than the rows know ranks afresh, else the
last rows are served.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from avd.services.market.book_keeper import BookKeeper
    from avd.services.market.candle_history import CandleHistory
    from avd.services.market.service import MarketContext

DAY_MS = 86_400_000


class ScannerSettings(BaseModel):
    """The scanner's filters (``market.scanner``); ``None`` means no bound."""

    model_config = {"extra": "forbid", "frozen": True}

    #: candles the volatility and the stability are measured over
    window: int = Field(60, ge=10, le=5000)
    #: keep the N streams with the most quote volume in 24 h
    volume_top: int | None = Field(None, ge=1)
    min_quote_volume: float | None = Field(None, ge=0)
    min_price: float | None = Field(None, ge=0)
    max_price: float | None = Field(None, gt=0)
    min_volatility: float | None = Field(None, ge=0)
    max_volatility: float | None = Field(None, gt=0)
    min_stability: float | None = Field(None, ge=0, le=1)
    max_spread: float | None = Field(None, gt=0)
    min_age_days: float | None = Field(None, ge=0)


def measure(cols: dict[str, Any], interval_ms: int, window: int) -> dict[str, Any]:
    """A stream's market quality from its candles (columns, oldest first)."""
    open_time = np.asarray(cols["open_time"], dtype=np.int64)
    high = np.asarray(cols["high"], dtype=np.float64)
    low = np.asarray(cols["low"], dtype=np.float64)
    close = np.asarray(cols["close"], dtype=np.float64)
    qv = np.asarray(cols["quote_volume"], dtype=np.float64)
    end = int(open_time[-1]) + interval_ms
    day = open_time >= end - DAY_MS
    r = np.diff(np.log(close[-(window + 1) :]))
    ranges = ((high - low) / close)[-window:]
    mean = float(ranges.mean()) if ranges.size else 0.0
    cv = float(ranges.std(ddof=1) / mean) if ranges.size > 1 and mean > 0 else math.inf
    return {
        "price": float(close[-1]),
        "quote_volume_24h": float(qv[day].sum()),
        "volatility": float(r.std(ddof=1) * 100) if r.size > 1 else None,
        "stability": max(0.0, 1.0 - cv) if math.isfinite(cv) else 0.0,
        "age_days": (end - int(open_time[0])) / DAY_MS,
        "spread": None,
    }


def _outside(v: float | None, lo: float | None, hi: float | None) -> bool:
    if v is None:
        return lo is not None or hi is not None
    return (lo is not None and v < lo) or (hi is not None and v > hi)


def keep(row: dict[str, Any], f: ScannerSettings) -> bool:
    """Whether ``row`` passes the filters (a filter on an unknown value drops it)."""
    return not (
        _outside(row["quote_volume_24h"], f.min_quote_volume, None)
        or _outside(row["price"], f.min_price, f.max_price)
        or _outside(row["volatility"], f.min_volatility, f.max_volatility)
        or _outside(row["stability"], f.min_stability, None)
        or _outside(row["age_days"], f.min_age_days, None)
        or (f.max_spread is not None and row["spread"] is not None and row["spread"] > f.max_spread)
    )


def percentile_ranks(values: Sequence[float]) -> list[float]:
    """Each value's rank among ``values``, 0 (lowest) .. 1 (highest); ties share their mean."""
    n = len(values)
    if n == 1:
        return [1.0]
    order = sorted(range(n), key=lambda i: values[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 / (n - 1)
        i = j + 1
    return ranks


def rank(rows: list[dict[str, Any]], f: ScannerSettings) -> list[dict[str, Any]]:
    """Filter, score and rank ``rows`` (each a context joined with its :func:`measure`)."""
    rows = [r for r in rows if r.get("score") is not None and keep(r, f)]
    if f.volume_top is not None:
        rows = sorted(rows, key=lambda r: -r["quote_volume_24h"])[: f.volume_top]
    if not rows:
        return []
    vol_rank = percentile_ranks([r["quote_volume_24h"] for r in rows])
    stab_rank = percentile_ranks([r["stability"] for r in rows])
    for r, v, s in zip(rows, vol_rank, stab_rank, strict=True):
        r["quality"] = (v + s) / 2
        r["context_score"] = r["score"]
        r["score"] = r["context_score"] * (0.5 + 0.5 * r["quality"])
    rows.sort(key=lambda r: (-r["score"], r["symbol"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


Fetch = Callable[[str, str, int], Awaitable[dict[str, Any] | None]]


class Scanner:
    """Ranked rows per interval, recomputed once a newer candle has closed."""

    def __init__(self, settings: ScannerSettings | None = None) -> None:
        self.settings = settings or ScannerSettings()
        self._cache: dict[str, tuple[int, float, list[dict[str, Any]]]] = {}

    async def rows(
        self,
        interval: str,
        interval_ms: int,
        contexts: list[dict[str, Any]],
        fetch: Fetch,
        spread: Callable[[str], float | None] | None = None,
    ) -> tuple[list[dict[str, Any]], float]:
        """The ranked rows of ``interval`` and when they were computed (epoch seconds).

        ``spread`` gives a symbol's live spread in percent (None when unknown).
        """
        mine = [c for c in contexts if c["interval"] == interval]
        newest = max((c.get("timestamp") or 0 for c in mine), default=0)
        held = self._cache.get(interval)
        if held is not None and held[0] >= newest:
            return held[2], held[1]
        limit = min(5000, max(self.settings.window + 1, DAY_MS // interval_ms))
        rows = []
        for c in mine:
            cols = await fetch(c["symbol"], interval, limit)
            if cols is None or len(cols["close"]) < 2:
                continue
            rows.append(
                {
                    "symbol": c["symbol"],
                    "interval": interval,
                    "score": c.get("score"),
                    "pattern": c.get("pattern"),
                    "direction": c.get("direction"),
                    "regime": c.get("regime"),
                    **measure(cols, interval_ms, self.settings.window),
                }
            )
            if spread is not None:
                rows[-1]["spread"] = spread(c["symbol"])
        ranked = rank(rows, self.settings)
        now = time.time()
        self._cache[interval] = (newest, now, ranked)
        return ranked, now


async def ranked(
    market: MarketContext,
    history: CandleHistory | None,
    interval: str,
    books: BookKeeper | None = None,
) -> tuple[list[dict[str, Any]], float]:
    """The scanner's rows of ``interval`` from the stored candles (the engine's when none).

    ``books`` (the collector's live order books) gives the spreads.
    Raises ``ValueError`` for an unknown interval.
    """
    from avd import _core

    ms = int(_core.interval_ms(interval))

    async def fetch(symbol: str, iv: str, limit: int) -> dict[str, Any] | None:
        return await market.recent(history, symbol, iv, limit)

    spread = books.spread_percent if books is not None else None
    return await market.scanner.rows(interval, ms, market.contexts(), fetch, spread)
