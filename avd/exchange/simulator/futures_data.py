"""Binance's futures data endpoints (long/short ratios), synthesized from the replayed candles.

Binance serves long/short ratios only from its USDⓈ-M futures data API
(``https://fapi.binance.com/futures/data/...``), which python-binance reaches
through ``FUTURES_DATA_URL``; the simulator answers the same paths under
``/futures/data/``:

* ``globalLongShortAccountRatio`` (``futures_global_longshort_ratio``),
  ``topLongShortAccountRatio`` (``futures_top_longshort_account_ratio``) and
  ``topLongShortPositionRatio`` (``futures_top_longshort_position_ratio``):
  rows ``symbol, longShortRatio, longAccount, shortAccount, timestamp``;
* ``takerlongshortRatio`` (``futures_taker_longshort_ratio``): rows
  ``buySellRatio, buyVol, sellVol, timestamp``.

Parameters as Binance: ``symbol`` and ``period`` (``5m 15m 30m 1h 2h 4h 6h
12h 1d``) mandatory, ``limit`` (default 30, at most 500), ``startTime``,
``endTime``. Rows are the complete periods of the last 30 days of the
replay clock (older ones do not exist), oldest first, ``timestamp`` = the
period's start; values are 4-decimal strings.

How the values are made (deterministic, from the candles of each period):

* taker: ``buyVol`` = the period's taker-buy base volume, ``sellVol`` =
  volume - buyVol, ``buySellRatio`` = buyVol / sellVol;
* the share of long accounts ``L`` (``longAccount``; ``shortAccount`` =
  1 - L, ``longShortRatio`` = L / (1 - L)), clamped to [0.1, 0.9]:
  global accounts ``0.5 + 5 r12``, top accounts ``0.5 + 3 r4``, top
  positions ``0.5 + (taker buy share - 0.5) + 2 r4``, where ``rN`` is the
  return of the period closes over the last N periods.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import BinanceError, invalid_symbol, mandatory
from .rest_params import int_param
from .series import INTERVAL_MS

if TYPE_CHECKING:
    from .market import SymbolMarket
    from .runtime import Simulator

#: the periods Binance serves, in ms
PERIODS: dict[str, int] = {
    p: INTERVAL_MS[p] for p in ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
}
#: how far back Binance keeps these statistics
KEPT_MS = 30 * 86_400_000
KINDS = (
    "globalLongShortAccountRatio",
    "topLongShortAccountRatio",
    "topLongShortPositionRatio",
    "takerlongshortRatio",
)
_FOUR = Decimal("0.0001")


def _d4(x: float) -> str:
    return str(Decimal(repr(float(x))).quantize(_FOUR, rounding=ROUND_HALF_EVEN))


def _invalid(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def _periods(sm: SymbolMarket, period_ms: int, now: int) -> np.ndarray:
    """Start times of the complete periods of the last 30 days that the data covers."""
    s = sm.series
    first = max(int(s.open_time[0]), now - KEPT_MS)
    first = -(-first // period_ms) * period_ms
    last_end = min(now, int(s.open_time[-1]) + s.interval_ms)
    last = last_end // period_ms * period_ms - period_ms
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.arange(first, last + 1, period_ms, dtype=np.int64)


def rows(
    sm: SymbolMarket,
    kind: str,
    period_ms: int,
    now: int,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The ``kind`` rows of ``sm``, Binance's selection rules (see the module doc)."""
    ts = _periods(sm, period_ms, now)
    if end is not None:
        ts = ts[ts <= end]
    ts = ts[ts >= start][:limit] if start is not None else ts[-limit:]
    if ts.size == 0:
        return []
    s = sm.series
    ot = s.open_time
    cum_v = np.concatenate([[0], np.cumsum(s.v)])
    cum_b = np.concatenate([[0], np.cumsum(s.tbb)])

    def close_before(t: np.ndarray) -> np.ndarray:
        j = np.clip(np.searchsorted(ot, t, side="left") - 1, 0, len(ot) - 1)
        return s.c[j].astype(np.float64)

    lo = np.searchsorted(ot, ts, side="left")
    hi = np.searchsorted(ot, ts + period_ms, side="left")
    vol = (cum_v[hi] - cum_v[lo]) / 1e8
    buy = (cum_b[hi] - cum_b[lo]) / 1e8
    close = close_before(ts + period_ms)
    out: list[dict[str, Any]] = []
    if kind == "takerlongshortRatio":
        sell = vol - buy
        for t, b, sv in zip(ts.tolist(), buy.tolist(), sell.tolist(), strict=True):
            ratio = b / sv if sv > 0 else 0.0
            out.append(
                {"buySellRatio": _d4(ratio), "buyVol": _d4(b), "sellVol": _d4(sv), "timestamp": t}
            )
        return out
    r12 = close / close_before(ts + period_ms - 12 * period_ms) - 1.0
    r4 = close / close_before(ts + period_ms - 4 * period_ms) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(vol > 0, buy / vol, 0.5)
    if kind == "globalLongShortAccountRatio":
        long = 0.5 + 5.0 * r12
    elif kind == "topLongShortAccountRatio":
        long = 0.5 + 3.0 * r4
    else:
        long = 0.5 + (share - 0.5) + 2.0 * r4
    long = np.clip(long, 0.1, 0.9)
    for t, lg in zip(ts.tolist(), long.tolist(), strict=True):
        la = Decimal(_d4(lg))
        sa = 1 - la
        out.append(
            {
                "symbol": sm.symbol,
                "longShortRatio": str((la / sa).quantize(_FOUR, rounding=ROUND_HALF_EVEN)),
                "longAccount": str(la),
                "shortAccount": str(sa),
                "timestamp": t,
            }
        )
    return out


def answer(sim: Simulator, kind: str, p: dict[str, str]) -> list[dict[str, Any]]:
    """Check the parameters as Binance does and answer one futures data request."""
    symbol = p.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    period = p.get("period", "")
    if not period:
        raise mandatory("period")
    sm = sim.market.get(symbol.upper())
    if sm is None:
        raise invalid_symbol()
    if period not in PERIODS:
        raise _invalid("period")
    limit = int_param(p, "limit")
    if limit is None:
        limit = 30
    elif not 1 <= limit <= 500:
        raise _invalid("limit")
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    if start is not None and end is not None and start > end:
        raise _invalid("startTime")
    return rows(sm, kind, PERIODS[period], sim.market.now, start, end, limit)


def futures_data_routes(sim: Simulator) -> list[Route]:
    """``GET /futures/data/<kind>`` for the four long/short statistics."""
    from .rest import error_response, json_response

    def endpoint(kind: str) -> Any:
        async def handle(request: Request) -> Response:
            try:
                fault = sim.faults.http(request.url.path)
                if fault is not None:
                    raise BinanceError(-1001, "Internal error (simulated fault).", fault[0])
                return json_response(answer(sim, kind, dict(request.query_params)))
            except BinanceError as e:
                return error_response(e)

        return handle

    return [Route(f"/futures/data/{k}", endpoint(k), methods=["GET"]) for k in KINDS]
