"""What ``GET /symbols/{symbol}/levels`` answers: the entry levels of a symbol's recent candles.

Computed on request from the stored closed candles of the stream (the
batch functions of :mod:`avd.levels`, in Rust):

* ``supports`` / ``resistances``: the support/resistance zones (swings
  clustered within half an ATR) below / above the last close, nearest
  first;
* ``pivots``: the pivot points of the previous UTC day, from that day's
  high, low and close aggregated from the stream's candles (``null`` when
  the candles do not reach back to a previous day; ``complete`` says
  whether they cover all of it);
* ``fibonacci``: the grid of the last swing (the last confirmed swing high
  and swing low; ``up`` when the low came first);
* ``confluence``: where zones, pivots and Fibonacci levels meet within
  ``tolerance`` percent, best score first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from avd import levels as lv

if TYPE_CHECKING:
    from avd.services.market.candle_history import CandleHistory
    from avd.services.market.service import MarketContext

DAY_MS = 86_400_000
#: fewest closed candles levels are computed from (swings, an ATR)
MIN_CANDLES = 50
#: nearest zones listed on each side of the price
NEAREST = 3


def _zone(z: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        "center": float(z["center"][i]),
        "low": float(z["low"][i]),
        "high": float(z["high"][i]),
        "touches": int(z["touches"][i]),
    }


def previous_day(cols: dict[str, Any], interval_ms: int) -> dict[str, Any] | None:
    """The previous UTC day's high, low, close and how much of it the candles cover."""
    open_time = np.asarray(cols["open_time"], dtype=np.int64)
    if open_time.size == 0:
        return None
    day = open_time // DAY_MS
    prev = int(day[-1]) - 1
    rows = np.flatnonzero(day == prev)
    if rows.size == 0:
        return None
    high = np.asarray(cols["high"], dtype=np.float64)[rows]
    low = np.asarray(cols["low"], dtype=np.float64)[rows]
    close = np.asarray(cols["close"], dtype=np.float64)[rows]
    return {
        "day": prev * DAY_MS,
        "high": float(high.max()),
        "low": float(low.min()),
        "close": float(close[-1]),
        "candles": int(rows.size),
        "complete": int(rows.size) * interval_ms >= DAY_MS,
    }


def levels_view(
    cols: dict[str, Any], interval_ms: int, method: str = "classic", tolerance: float = 0.25
) -> dict[str, Any]:
    """The levels of the candles ``cols`` (columns, oldest first)."""
    high = np.asarray(cols["high"], dtype=np.float64)
    low = np.asarray(cols["low"], dtype=np.float64)
    close = np.asarray(cols["close"], dtype=np.float64)
    last = float(close[-1])
    zones = lv.support_resistance(high, low, close)
    rows = [_zone(zones, i) for i in range(len(zones["center"]))]
    supports = sorted((z for z in rows if z["center"] < last), key=lambda z: -z["center"])
    resistances = sorted((z for z in rows if z["center"] >= last), key=lambda z: z["center"])

    day = previous_day(cols, interval_ms)
    pivots: dict[str, Any] | None = None
    if day is not None:
        p = lv.pivots([day["high"]], [day["low"]], [day["close"]], method=method)
        pivots = {
            "method": method,
            **{k: day[k] for k in ("day", "candles", "complete")},
            "levels": {k: float(v[-1]) for k, v in p.items()},
        }

    sw = lv.swings(high, low)
    fib: dict[str, Any] | None = None
    if len(sw["highs"]) and len(sw["lows"]):
        hi, lo = int(sw["highs"][-1]), int(sw["lows"][-1])
        trend = "up" if lo < hi else "down"
        grid = lv.fibonacci(float(high[hi]), float(low[lo]), trend)
        fib = {
            "trend": trend,
            "swing_high": {"index_from_end": len(high) - 1 - hi, "price": float(high[hi])},
            "swing_low": {"index_from_end": len(low) - 1 - lo, "price": float(low[lo])},
            "levels": {f"{r:g}": float(price) for r, price in grid.items()},
        }
    meet = lv.confluence(
        zones=zones,
        pivots=None if pivots is None else pivots["levels"],
        fibonacci=None if fib is None else {float(k): v for k, v in fib["levels"].items()},
        tolerance=tolerance,
    )
    return {
        "close": last,
        "candles": len(close),
        "supports": supports[:NEAREST],
        "resistances": resistances[:NEAREST],
        "pivots": pivots,
        "fibonacci": fib,
        "confluence": meet[:5],
    }


async def levels_of(
    market: MarketContext,
    history: CandleHistory | None,
    symbol: str,
    interval: str,
    *,
    limit: int = 1000,
    method: str = "classic",
    tolerance: float = 0.25,
) -> dict[str, Any] | None:
    """The levels of a tracked stream's newest ``limit`` closed candles (None: too few).

    The caller checks that the stream is tracked; the stored candles are used,
    the engine's when none are stored.
    """
    from avd import _core

    cols = await market.recent(history, symbol, interval, limit)
    if len(cols["close"]) < MIN_CANDLES:
        return None
    view = levels_view(cols, int(_core.interval_ms(interval)), method, tolerance)
    return {"symbol": symbol, "interval": interval, **view}
