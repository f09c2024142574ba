"""The MarketContext REST service (Starlette).

``GET /symbols/contexts``, ``GET /symbols/{symbol}/candles``,
``GET /symbols/{symbol}/book`` and ``/flow`` (the live order book and
trade flow of ``market.book_symbols``), ``GET /signals``, ``GET /health``
and the live ``/stream`` WebSocket of market events (contexts, signals,
closed candles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from avd import _core
from avd.domain.bus import EventBus
from avd.domain.errors import Unauthorized
from avd.domain.events import (
    CandleEvaluated,
    ContextScoreCalculated,
    Event,
    KlineReceived,
    OrderFlowClosed,
    SignalGenerated,
)
from avd.services.market import schemas as m
from avd.services.market.book_keeper import BookKeeper
from avd.services.market.candle_history import CandleHistory
from avd.services.market.levels import MIN_CANDLES, levels_of
from avd.services.market.long_short import LongShort, latest_long_short
from avd.services.market.long_short import routes as long_short_routes
from avd.services.market.scanner import ranked
from avd.services.market.service import MarketContext
from avd.web.encoding import dumps
from avd.web.errors import ApiError
from avd.web.openapi import operation
from avd.web.service_token import is_service_token
from avd.web.streams import Catalogue, Streams


class HealthSource(Protocol):
    """Something that reports stream health (the collector)."""

    def health(self) -> dict[str, Any]:
        """Per-connection lag, last message time and reconnect count."""
        ...


class JSON(Response):
    """orjson-encoded JSON; NaN and infinities become null."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode with orjson."""
        return dumps(content)


def _closed_candles_only(e: Event) -> bool:
    return not isinstance(e, KlineReceived) or e.closed


#: what ``/stream`` offers: market events only, public. Trade and account
#: events belong to one client each: they are on ``/trades/stream``, with its token.
MARKET_STREAM = Catalogue(
    kinds={
        "context": (ContextScoreCalculated,),
        "signal": (SignalGenerated,),
        "candle": (KlineReceived,),
        "flow": (OrderFlowClosed,),
    },
    default=("context", "signal"),
    keep=_closed_candles_only,
    note=" (trade events: /trades/stream)",
)


def _in_progress_klines_only(e: Event) -> bool:
    # a closed candle comes as CandleEvaluated, ordered with its signal
    return not isinstance(e, KlineReceived) or not e.closed


#: what the trade service takes from the market service, with the service
#: token: in-progress klines (prices), each closed candle as the engine
#: evaluated it, and the signals, in the order the MarketContext made them
MARKET_FEED = Catalogue(
    kinds={
        "kline": (KlineReceived,),
        "candle": (CandleEvaluated,),
        "signal": (SignalGenerated,),
    },
    default=("kline", "candle", "signal"),
    keep=_in_progress_klines_only,
    # a trade service that falls this far behind is closed and reconnects
    outbox=100_000,
)


def _query(model: type[BaseModel], request: Request, status: int = 400) -> Any:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApiError(status, problems, error="bad_parameters") from None


def routes(
    market: MarketContext,
    hub: EventBus,
    health: HealthSource | None = None,
    history: CandleHistory | None = None,
    streams: Streams | None = None,
    service_token: str | None = None,
    long_short: LongShort | None = None,
    books: Callable[[], BookKeeper | None] | None = None,
) -> list[BaseRoute]:
    """The service's routes, to mount alone or in the all-in-one app.

    Candles are served from the persisted ``history`` when given (beyond the
    engine's ring buffer), else from the engine's buffer. ``/stream``
    connections belong to ``streams`` (the app's, closed when it stops).
    With a ``service_token``, ``/internal/feed`` serves the trade service.
    ``books`` returns the collector's book keeper (None while it is not
    running or ``market.book_symbols`` is empty).
    """
    if streams is None:
        streams = Streams()

    @operation(
        "Every tracked symbol's latest context",
        query=m.ContextsQuery,
        response=m.ContextsResponse,
        errors=(400,),
        tags=("market",),
    )
    async def contexts(request: Request) -> Response:
        q: m.ContextsQuery = _query(m.ContextsQuery, request)
        rows = market.contexts()

        def keep(r: dict[str, Any]) -> bool:
            s = r["score"]
            return (
                (q.min_score is None or (s is not None and s >= q.min_score))
                and (q.max_score is None or (s is not None and s <= q.max_score))
                and (q.pattern is None or r["pattern"] == q.pattern)
                and (q.direction is None or r["direction"] == q.direction)
                and (q.interval is None or r["interval"] == q.interval)
                and (q.symbol is None or r["symbol"] == q.symbol.upper())
            )

        rows = [r for r in rows if keep(r)]
        if q.sort == "symbol":
            rows.sort(key=lambda r: (r["symbol"], r["interval"]))
        else:
            rows.sort(
                key=lambda r: -1.0 if r["score"] is None else r["score"], reverse=q.sort == "-score"
            )
        return JSON({"contexts": rows[: q.limit], "count": len(rows)})

    def tracked(symbol: str, interval: str) -> int:
        """The interval in ms; 400 for a bad interval, 404 for a stream not tracked."""
        try:
            ms = int(_core.interval_ms(interval))
        except ValueError as exc:
            raise ApiError(400, str(exc), error="bad_parameters") from None
        if (symbol, interval) not in set(market.engine.streams()):
            known = sorted({s for s, _ in market.engine.streams()})
            raise ApiError(
                404, f"{symbol} {interval} is not tracked; tracked symbols: {', '.join(known)}"
            )
        return ms

    @operation(
        "A symbol's closed candles",
        query=m.CandlesQuery,
        response=m.CandlesResponse,
        errors=(400, 404),
        tags=("market",),
    )
    async def candles(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        q: m.CandlesQuery = _query(m.CandlesQuery, request)
        tracked(symbol, q.interval)
        cols: Any = await market.recent(history, symbol, q.interval, q.limit)
        n = min(q.limit, len(cols["open_time"]))
        rows = [
            {
                "open_time": int(cols["open_time"][i]),
                "open": float(cols["open"][i]),
                "high": float(cols["high"][i]),
                "low": float(cols["low"][i]),
                "close": float(cols["close"][i]),
                "volume": float(cols["volume"][i]),
            }
            for i in range(len(cols["open_time"]) - n, len(cols["open_time"]))
        ]
        return JSON({"symbol": symbol, "interval": q.interval, "candles": rows})

    @operation(
        "A symbol's entry levels: nearest supports and resistances, pivots, Fibonacci, confluence",
        query=m.LevelsQuery,
        errors=(400, 404, 409),
        tags=("market",),
        description="Computed from the stream's newest closed candles (`limit`): support/"
        "resistance zones (swings clustered within half an ATR) nearest the last close, the "
        "previous UTC day's pivots (`method`), the Fibonacci grid of the last swing, and the "
        "prices where several kinds meet within `tolerance` percent (score = kinds x strength).",
    )
    async def levels(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        q: m.LevelsQuery = _query(m.LevelsQuery, request)
        tracked(symbol, q.interval)
        view = await levels_of(
            market, history, symbol, q.interval, limit=q.limit, method=q.method,
            tolerance=q.tolerance,
        )  # fmt: skip
        if view is None:
            raise ApiError(
                409,
                f"{symbol} {q.interval} has fewer than {MIN_CANDLES} closed candles: "
                "levels need them",
                error="not_enough_candles",
            )
        return JSON(view)

    def keeper(symbol: str) -> BookKeeper:
        """The book keeper, or 404 when the symbol's book is not kept."""
        k = books() if books is not None else None
        if k is None or symbol not in k.books:
            kept = sorted(k.books) if k is not None else []
            raise ApiError(
                404,
                f"{symbol}'s order book and flow are not kept; kept: "
                + (", ".join(kept) or "none (set market.book_symbols)"),
            )
        return k

    @operation(
        "A symbol's live order book: levels and analytics",
        query=m.BookQuery,
        errors=(404, 422),
        tags=("market",),
        description="The local book kept by Binance's procedure from `@depth@100ms` "
        "(`state`: no_snapshot, awaiting_first, synced, resyncing): the best `depth` levels "
        "per side as [price, qty], best bid/ask, spread, mid, microprice, `imbalance` over "
        "`depth` levels, quantity within `depth_bps` of the mid, the order-flow imbalance "
        "since the last closed candle (`ofi`), resyncs and gaps.",
    )
    async def book(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        q: m.BookQuery = _query(m.BookQuery, request, status=422)
        view = keeper(symbol).book_view(symbol, q.depth)
        assert view is not None
        return JSON(view)

    @operation(
        "A symbol's trade flow per candle: delta, CVD, imbalance, VPIN, book analytics",
        query=m.FlowQuery,
        errors=(400, 404, 422),
        tags=("market",),
        description="From `@aggTrade` (side exact from `m`): per closed candle of `interval` "
        "buy/sell volume, delta, CVD, trade imbalance, large trades, VPIN, and the book's "
        "analytics at the candle's close (mid, spread, microprice, book_imbalance, depth, ofi); "
        "`current` is the candle in progress; `long_short` the newest polled long/short row "
        "(null unless `market.long_short` polls the symbol).",
    )
    async def flow(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        q: m.FlowQuery = _query(m.FlowQuery, request, status=422)
        try:
            _core.interval_ms(q.interval)
        except ValueError as exc:
            raise ApiError(400, str(exc), error="bad_parameters") from None
        k = keeper(symbol)
        view = k.flow_view(symbol, q.interval, q.limit)
        if view is None:
            raise ApiError(
                404, f"{symbol}'s flow is kept per {', '.join(k.intervals)}, not {q.interval}"
            )
        view["long_short"] = await latest_long_short(long_short, symbol)
        return JSON(view)

    @operation(
        "A symbol's market regime: states, transitions, current probabilities",
        query=m.RegimeQuery,
        errors=(400, 404, 409),
        tags=("market",),
        description="A Gaussian HMM on (log return, realized volatility), refitted on a "
        "rolling window and filtered causally on each closed candle; states named by "
        "volatility, calm first (see the README's Regimes).",
    )
    async def regime(request: Request) -> Response:
        symbol = request.path_params["symbol"].upper()
        q: m.RegimeQuery = _query(m.RegimeQuery, request)
        tracked(symbol, q.interval)
        view = market.regimes.view((symbol, q.interval))
        if view is None:
            s = market.regimes.settings
            raise ApiError(
                409,
                f"no regime model for {symbol} {q.interval} yet: the first fit needs "
                f"{s.window // 2 + s.vol_window + 1} closed candles"
                + ("" if s.enabled else " (regime detection is off: market.regimes.enabled)"),
                error="no_regime_yet",
            )
        return JSON({"symbol": symbol, "interval": q.interval, **view})

    @operation(
        "The market scanner: tracked streams ranked by context score and market quality",
        query=m.ScannerQuery,
        errors=(400,),
        tags=("market",),
        description="Rows `rank`, `symbol`, `interval`, `score` (context score x (0.5 + 0.5 "
        "quality)), `context_score`, `quality`, `pattern`, `direction`, `regime`, `price`, "
        "`quote_volume_24h`, `volatility` (%), `stability`, `spread`, `age_days`, best first, "
        "after the `market.scanner` filters; recomputed once a newer candle has closed.",
    )
    async def scanner(request: Request) -> Response:
        q: m.ScannerQuery = _query(m.ScannerQuery, request)
        try:
            rows, at = await ranked(market, history, q.interval, books() if books else None)
        except ValueError as exc:
            raise ApiError(400, str(exc), error="bad_parameters") from None
        return JSON(
            {"interval": q.interval, "computed_at": at, "count": len(rows), "rows": rows[: q.top]}
        )

    @operation(
        "Recent trade signals",
        query=m.SignalsQuery,
        response=m.SignalsResponse,
        errors=(400,),
        tags=("market",),
    )
    async def signals(request: Request) -> Response:
        q: m.SignalsQuery = _query(m.SignalsQuery, request)
        rows = [
            s.to_dict()
            for s in market.signals
            if s.generated_at >= q.since and (q.symbol is None or s.symbol == q.symbol.upper())
        ]
        return JSON({"signals": rows[-q.limit :]})

    @operation(
        "The strategies the engine evaluates (what a bot's strategy may name)",
        response=m.StrategiesResponse,
        tags=("market",),
    )
    async def strategies(request: Request) -> Response:
        return JSON(market.strategies())

    @operation(
        "Stream health, engine and hub counters", response=m.HealthResponse, tags=("market",)
    )
    async def health_route(request: Request) -> Response:
        streams = health.health() if health is not None else None
        # the event bus between the processes (Redis Streams), when one is configured
        bus = streams.pop("bus", None) if streams is not None else None
        down = bus is not None and not bus.get("connected", True)
        return JSON(
            {
                "status": "degraded" if down else "ok",
                "klines_processed": market.klines_processed,
                "streams": streams,
                "hub": hub.stats(),
                "bus": bus,
            }
        )

    async def stream(ws: WebSocket) -> None:
        await streams.pump(ws, hub, MARKET_STREAM)

    async def service_only(token: str | None) -> int:
        if service_token is None or not is_service_token(token, service_token):
            raise Unauthorized("unauthorized", "the feed is for the services (service token)")
        return 0

    async def feed(ws: WebSocket) -> None:
        await streams.pump(ws, hub, MARKET_FEED, authenticate=service_only)

    internal: list[BaseRoute] = (
        [WebSocketRoute("/internal/feed", feed)] if service_token is not None else []
    )
    return [
        *internal,
        Route("/symbols/contexts", contexts, methods=["GET"]),
        Route("/symbols/{symbol}/candles", candles, methods=["GET"]),
        Route("/symbols/{symbol}/levels", levels, methods=["GET"]),
        Route("/symbols/{symbol}/regime", regime, methods=["GET"]),
        *long_short_routes(long_short),
        Route("/symbols/{symbol}/book", book, methods=["GET"]),
        Route("/symbols/{symbol}/flow", flow, methods=["GET"]),
        Route("/scanner", scanner, methods=["GET"]),
        Route("/signals", signals, methods=["GET"]),
        Route("/strategies", strategies, methods=["GET"]),
        Route("/health", health_route, methods=["GET"]),
        WebSocketRoute("/stream", stream),
    ]
