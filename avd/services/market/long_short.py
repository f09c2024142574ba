"""Long/short ratios: polled from Binance's futures data API, stored, served.

Binance publishes long/short statistics only for its USDⓈ-M futures and only
for the last 30 days, so the service keeps its own history. With
``market.long_short.enabled`` the :class:`LongShortPoller` asks, every
``poll_s`` seconds and for each symbol and period, python-binance's

* ``futures_global_longshort_ratio`` (all accounts),
* ``futures_top_longshort_account_ratio`` (top traders' accounts),
* ``futures_top_longshort_position_ratio`` (top traders' positions),
* ``futures_taker_longshort_ratio`` (taker buy/sell volume),

merges the four by period timestamp into one row, and stores the rows
(:class:`LongShortStore`; the ``long_short`` table via ``avd.store`` when
candles persist). ``GET /symbols/{symbol}/long-short?period=5m&limit=30``
serves them, newest last; :meth:`LongShort.latest` is the newest row for
other parts of the service (the order-flow view).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.store.long_short import VALUES
from avd.web.encoding import dumps
from avd.web.errors import ApiError
from avd.web.openapi import operation

log = logging.getLogger(__name__)

#: the periods Binance serves these statistics for
PERIODS = ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
#: one stored row: ``timestamp`` (ms, the period's start) and the store's value
#: columns (None: not served)
FIELDS = VALUES
Row = dict[str, Any]
#: python-binance method -> {response field: stored field}
SOURCES: dict[str, dict[str, str]] = {
    "futures_global_longshort_ratio": {
        "longShortRatio": "global_ratio",
        "longAccount": "global_long",
    },
    "futures_top_longshort_account_ratio": {
        "longShortRatio": "top_account_ratio",
        "longAccount": "top_account_long",
    },
    "futures_top_longshort_position_ratio": {
        "longShortRatio": "top_position_ratio",
        "longAccount": "top_position_long",
    },
    "futures_taker_longshort_ratio": {
        "buySellRatio": "taker_ratio",
        "buyVol": "taker_buy_vol",
        "sellVol": "taker_sell_vol",
    },
}


class LongShortSettings(BaseModel):
    """``market.long_short``: whether and how the ratios are polled."""

    model_config = {"extra": "forbid", "frozen": True}

    #: off unless configured: Binance serves these only for futures symbols
    enabled: bool = False
    #: symbols to poll; [] = the tracked symbols
    symbols: list[str] = Field(default_factory=list)
    periods: list[str] = Field(default_factory=lambda: ["5m"], min_length=1)
    #: seconds between polls
    poll_s: float = Field(300.0, gt=0)
    #: rows asked per request (Binance: at most 500)
    limit: int = Field(30, ge=1, le=500)

    @field_validator("periods")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if p not in PERIODS]
        if bad:
            raise ValueError(f"not long/short periods: {bad} (Binance: {', '.join(PERIODS)})")
        return v


class LongShortStore(Protocol):
    """Long/short rows per (symbol, period), keyed by timestamp."""

    async def upsert(self, symbol: str, period: str, rows: list[Row]) -> None:
        """Store rows; a row already stored is replaced."""
        ...

    async def tail(self, symbol: str, period: str, limit: int) -> list[Row]:
        """The newest ``limit`` rows, oldest first."""
        ...


class MemoryLongShortStore:
    """In-memory :class:`LongShortStore`."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict[int, Row]] = {}

    async def upsert(self, symbol: str, period: str, rows: list[Row]) -> None:
        """Store rows; a row already stored is replaced."""
        kept = self._rows.setdefault((symbol, period), {})
        for r in rows:
            kept[int(r["timestamp"])] = dict(r)

    async def tail(self, symbol: str, period: str, limit: int) -> list[Row]:
        """The newest ``limit`` rows, oldest first."""
        kept = self._rows.get((symbol, period), {})
        return [kept[t] for t in sorted(kept)[-limit:]]


def merge(answers: dict[str, list[dict[str, Any]]]) -> list[Row]:
    """The four endpoints' answers as rows by timestamp, oldest first."""
    rows: dict[int, Row] = {}
    for method, mapping in SOURCES.items():
        for item in answers.get(method, []):
            t = int(item["timestamp"])
            row = rows.setdefault(t, {"timestamp": t, **dict.fromkeys(FIELDS)})
            for src, dst in mapping.items():
                if item.get(src) is not None:
                    row[dst] = float(item[src])
    return [rows[t] for t in sorted(rows)]


ClientFactory = Callable[[], Awaitable[Any]]


class LongShort:
    """The polled long/short ratios of the service: poller, store and reads."""

    def __init__(
        self,
        settings: LongShortSettings,
        store: LongShortStore,
        symbols: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.symbols = list(settings.symbols or symbols or [])
        self.polls = 0
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    async def poll_once(self, client: Any) -> int:
        """One round over every symbol and period; rows stored."""
        stored = 0
        for symbol in self.symbols:
            for period in self.settings.periods:
                answers: dict[str, list[dict[str, Any]]] = {}
                for method in SOURCES:
                    try:
                        answers[method] = await getattr(client, method)(
                            symbol=symbol, period=period, limit=self.settings.limit
                        )
                    except Exception as exc:  # one endpoint failing keeps the others
                        self.errors += 1
                        log.warning("long/short %s %s %s: %s", method, symbol, period, exc)
                rows = merge(answers)
                if rows:
                    await self.store.upsert(symbol, period, rows)
                    stored += len(rows)
        self.polls += 1
        return stored

    async def run(self, client_factory: ClientFactory) -> None:
        """Poll every ``poll_s`` until cancelled (a python-binance client of its own)."""
        client = await client_factory()
        try:
            while True:
                try:
                    await self.poll_once(client)
                except Exception:
                    self.errors += 1
                    log.exception("long/short poll failed")
                await asyncio.sleep(self.settings.poll_s)
        finally:
            with contextlib.suppress(Exception):
                await client.close_connection()

    def start(self, client_factory: ClientFactory) -> None:
        """Start polling (when enabled and there are symbols)."""
        if self.settings.enabled and self.symbols and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(client_factory))

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def rows(self, symbol: str, period: str, limit: int) -> list[Row]:
        """The stored rows, oldest first."""
        return await self.store.tail(symbol, period, limit)

    async def latest(self, symbol: str, period: str | None = None) -> Row | None:
        """The newest stored row of ``symbol`` (the first polled period by default)."""
        rows = await self.store.tail(symbol, period or self.settings.periods[0], 1)
        return rows[-1] if rows else None


async def latest_long_short(
    source: LongShort | None, symbol: str, period: str | None = None
) -> Row | None:
    """The newest long/short row of ``symbol``, or None (polling off or nothing yet)."""
    if source is None:
        return None
    return await source.latest(symbol, period)


class LongShortQuery(BaseModel):
    """Parameters of ``GET /symbols/{symbol}/long-short``."""

    model_config = {"extra": "forbid"}

    period: str = "5m"
    limit: int = Field(30, ge=1, le=500)


def routes(source: LongShort | None) -> list[BaseRoute]:
    """``GET /symbols/{symbol}/long-short``."""

    @operation(
        "A symbol's long/short ratios (Binance futures data, polled and stored)",
        query=LongShortQuery,
        errors=(400, 404),
        tags=("market",),
        description="Rows `timestamp` (ms, the period's start), `global_ratio`/`global_long` "
        "(all accounts), `top_account_ratio`/`top_account_long`, `top_position_ratio`/"
        "`top_position_long` (top traders), `taker_ratio`, `taker_buy_vol`, `taker_sell_vol`, "
        "oldest first; polled every `market.long_short.poll_s` when "
        "`market.long_short.enabled`.",
    )
    async def long_short(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        try:
            q = LongShortQuery.model_validate(dict(request.query_params))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ApiError(400, problems, error="bad_parameters") from None
        if q.period not in PERIODS:
            raise ApiError(
                400, f"period must be one of {', '.join(PERIODS)}", error="bad_parameters"
            )
        if source is None or not source.settings.enabled:
            raise ApiError(404, "long/short ratios are not polled (market.long_short.enabled)")
        if symbol not in source.symbols:
            raise ApiError(
                404,
                f"{symbol}: long/short ratios are not polled; polled: {', '.join(source.symbols)}",
            )
        if q.period not in source.settings.periods:
            raise ApiError(
                404,
                f"period {q.period} is not polled; polled: {', '.join(source.settings.periods)}",
            )
        rows = await source.rows(symbol, q.period, q.limit)
        return Response(
            dumps({"symbol": symbol, "period": q.period, "rows": rows}),
            media_type="application/json",
        )

    return [Route("/symbols/{symbol}/long-short", long_short, methods=["GET"])]
