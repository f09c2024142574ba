"""The TradeEngine service's routes: ``/trades/*``, ``/risk/*`` and ``/admin/trades/stats``.

Every route takes the client's bearer token (verified by the Client
service's token logic, in process); a client sees and changes only its own
trades: another client's trade answers 404. The admin routes take an admin
token. A refusal of the service (an :mod:`avd.domain.errors` class, an
exchange failure included) is answered by the app's exception handlers
(:data:`avd.web.errors.EXCEPTION_HANDLERS`) as ``{"error": the rule,
"detail", "numbers"}`` with the status of its class.
"""

from __future__ import annotations

import json
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from avd.domain.events import (
    DrawdownLimitReached,
    OrderRejected,
    PartialExitTaken,
    SLAdjusted,
    TradeClosed,
    TradePlaced,
)
from avd.services.trade import schemas as m
from avd.services.trade.accounts import AccountView
from avd.services.trade.plans import TradeOrder
from avd.services.trade.service import TradeService
from avd.services.trade.stats import trade_stats
from avd.store.models import TradeRecord
from avd.web.http import bearer, body, path_id, query, reply
from avd.web.openapi import operation
from avd.web.streams import Catalogue, Streams

#: what ``/trades/stream`` offers, every event the client's own (the stream is private)
TRADE_STREAM = Catalogue(
    kinds={
        "trade": (TradePlaced, SLAdjusted, PartialExitTaken, TradeClosed),
        "order": (OrderRejected,),
        "risk": (DrawdownLimitReached,),
    },
    default=("trade", "order", "risk"),
    params=frozenset({"types", "token"}),
    note=" (market events: /stream)",
)


def targets(t: TradeRecord) -> list[m.Target]:
    """The take-profit levels stored in the trade's plan, with their prices once filled."""
    levels = json.loads(t.plan or "{}").get("take_profits") or []
    entry, initial = t.entry_price, t.initial_stop
    risk = abs(entry - initial) if entry is not None and initial else None
    sign = 1 if t.side == "BUY" else -1
    out = []
    for r, fraction in levels:
        multiple = Decimal(r)
        price = None if risk is None or entry is None else entry + sign * multiple * risk
        out.append(m.Target(r_multiple=multiple, fraction=Decimal(fraction), price=price))
    return out


def trade_out(t: TradeRecord, tracked_stop: Decimal | None = None) -> m.Trade:
    """A trade row as the API's :class:`~avd.services.trade.schemas.Trade`."""
    return m.Trade(
        take_profits=targets(t),
        id=t.id,
        status=t.status,
        symbol=t.symbol,
        side=t.side,
        quantity=t.quantity if t.status != "pending" else t.requested_quantity,
        open_quantity=t.open_quantity,
        entry_price=t.entry_price,
        stop_loss=t.stop_loss,
        initial_stop=t.initial_stop,
        tracked_stop=tracked_stop,
        mode=t.mode,
        origin=t.origin,
        type=t.order_type,
        exit_price=t.exit_price,
        realized_pnl=t.realized_pnl,
        close_reason=t.close_reason,
        note=t.note,
        created_at=t.created_at,
        closed_at=t.closed_at,
    )


def account_out(v: AccountView) -> m.Account:
    """The trading account as the API shows it."""
    return m.Account(
        client_id=v.client_id,
        mode=v.mode,
        currency=v.currency,
        equity=v.equity,
        balances=[
            m.AccountBalance(
                asset=b.asset, free=b.free, locked=b.locked, price=b.price, value=b.value
            )
            for b in v.balances
        ],
        unpriced=v.unpriced,
        positions=[
            m.AccountPosition(
                trade_id=p.trade_id,
                symbol=p.symbol,
                quantity=p.quantity,
                entry_price=p.entry_price,
                price=p.price,
                unrealized_pnl=p.unrealized_pnl,
            )
            for p in v.positions
        ],
        open_exposure=v.open_exposure,
        realized_pnl=v.realized_pnl,
        unrealized_pnl=v.unrealized_pnl,
        starting_balance=v.starting_balance,
        reset_at=v.reset_at,
    )


def routes(service: TradeService, streams: Streams | None = None) -> list[BaseRoute]:
    """Every route of the TradeEngine service, bound to ``service``.

    ``/trades/stream`` connections belong to ``streams`` (the app's, closed
    when it stops).
    """
    svc = service
    if streams is None:
        streams = Streams()
    engine = svc.engine
    refusals = (400, 401, 403, 409, 422, 502, 503)

    def out(t: TradeRecord) -> m.Trade:
        return trade_out(t, engine.monitor.stop_of(t.id))

    @operation(
        "Open a trade (BUY, market or limit, sized and risk-checked), or sell a holding",
        body=m.ExecuteRequest,
        response=m.Trade,
        status=201,
        security="bearer",
        errors=(*refusals, 402),
        tags=("trades",),
        extra_responses={
            200: (
                "A SELL: the holding reduced or closed, first in first out (spot holds no "
                "shorts; a SELL with nothing held is a 409 and writes nothing)",
                m.SellResult,
            )
        },
        description=(
            "A BUY opens a long (201). A SELL sells what the client holds in the symbol "
            "(200): `quantity` or `quote_amount`, or neither for all of it. "
            "Refusals answer {error: the rule, detail, numbers}; 402 when the prepaid "
            "platform balance is exhausted, 502 when the exchange refuses the order, 503 "
            "when the Client service or the exchange cannot be reached (`service` names it)."
        ),
    )
    async def execute(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        req = await body(request, m.ExecuteRequest)
        order = TradeOrder(
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            quantity=req.quantity,
            quote_amount=req.quote_amount,
            risk_percent=req.risk_percent,
            price=req.price,
            stop_loss=req.stop_loss,
            take_profits=(
                tuple((t.r_multiple, t.fraction) for t in req.take_profits)
                if req.take_profits is not None
                else None
            ),
            trailing_percent=req.trailing_percent,
            break_even_after_r=req.break_even_after_r,
            leverage=req.leverage,
        )
        if req.side == "SELL":
            sold = await engine.sell(user.id, order)
            return reply(
                m.SellResult(
                    symbol=sold.symbol,
                    quantity=sold.quantity,
                    trades=[out(t) for t in sold.trades],
                )
            )
        trade = await engine.execute(user.id, order)
        return reply(out(trade), 201)

    @operation(
        "The trading account: balances, equity, exposure, realized and unrealized P&L",
        query=m.AccountQuery,
        response=m.Account,
        security="bearer",
        errors=(401, 403, 409, 422, 503),
        tags=("trades",),
        description=(
            "The capital trades are sized and capped against: the client's Binance account "
            "live, its paper account on paper (not the prepaid platform balance)."
        ),
    )
    async def account(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        q = query(request, m.AccountQuery)
        view = await engine.account(user.id, q.mode)
        return reply(account_out(view))

    @operation(
        "Reset the paper account to a starting balance",
        body=m.AccountReset,
        response=m.Account,
        security="bearer",
        errors=(401, 403, 409, 422),
        tags=("trades",),
        description="Refused (409) while a paper trade is open or pending.",
    )
    async def account_reset(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        req = await body(request, m.AccountReset)
        view = await engine.reset_paper_account(user.id, req.balance)
        return reply(account_out(view))

    @operation(
        "The client's open and pending trades",
        response=m.TradeList,
        security="bearer",
        errors=(401, 403),
        tags=("trades",),
    )
    async def active(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        rows = await engine.trades(user.id, ("pending", "open"), limit=500, offset=0)
        return reply(m.TradeList(trades=[out(t) for t in rows], limit=500, offset=0))

    @operation(
        "The client's trades, newest first",
        query=m.Page,
        response=m.TradeList,
        security="bearer",
        errors=(401, 403, 422),
        tags=("trades",),
    )
    async def history(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        page = query(request, m.Page)
        rows = await engine.trades(user.id, None, limit=page.limit, offset=page.offset)
        return reply(
            m.TradeList(trades=[out(t) for t in rows], limit=page.limit, offset=page.offset)
        )

    @operation(
        "Close an open trade at the market",
        response=m.Trade,
        security="bearer",
        errors=(401, 403, 404, 409, 422, 502, 503),
        tags=("trades",),
        description=(
            "502 when the exchange refuses the exit, 503 when it cannot be reached: the "
            "position then stays open, tracked and protected by its stop."
        ),
    )
    async def close(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        trade_id = path_id(request, "trade_id")
        trade = await engine.close(user.id, trade_id)
        return reply(out(trade))

    @operation(
        "Move the stop-loss or replace the take-profit targets",
        body=m.AmendRequest,
        response=m.Trade,
        security="bearer",
        errors=(401, 403, 404, 409, 422, 502, 503),
        tags=("trades",),
    )
    async def amend(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        trade_id = path_id(request, "trade_id")
        req = await body(request, m.AmendRequest)
        trade = await engine.amend(
            user.id,
            trade_id,
            stop_loss=req.stop_loss,
            take_profits=(
                tuple((t.r_multiple, t.fraction) for t in req.take_profits)
                if req.take_profits is not None
                else None
            ),
        )
        return reply(out(trade))

    @operation(
        "The client's risk state and the limits in force",
        response=m.RiskStatus,
        security="bearer",
        errors=(401, 403, 503),
        tags=("risk",),
    )
    async def risk_status(request: Request) -> Response:
        user = await svc.authenticate(bearer(request))
        return reply(await engine.risk_status(user.id))

    @operation(
        "Admin: lift the drawdown block",
        body=m.UnblockRequest,
        response=m.Unblocked,
        security="bearer",
        errors=(401, 403),
        tags=("risk", "admin"),
    )
    async def unblock(request: Request) -> Response:
        await svc.authenticate_admin(bearer(request))
        req = await body(request, m.UnblockRequest)
        return reply(m.Unblocked(unblocked=await engine.unblock(req.client_id)))

    @operation(
        "Admin: the kill switch (on: close every position and stop entries)",
        body=m.KillSwitchRequest,
        response=m.KillSwitch,
        security="bearer",
        errors=(401, 403),
        tags=("risk", "admin"),
    )
    async def kill_switch(request: Request) -> Response:
        await svc.authenticate_admin(bearer(request))
        req = await body(request, m.KillSwitchRequest)
        closed = await engine.kill_switch(req.active, req.reason)
        return reply(m.KillSwitch(active=req.active, closed=closed))

    @operation(
        "Admin: a client's bot statistics (open positions, realized P&L, win rate, curve)",
        query=m.StatsQuery,
        response=m.TradeStats,
        security="bearer",
        errors=(401, 403, 422),
        tags=("trades", "admin"),
        description=(
            "Exact sums over every trade of the client (of one mode with `mode`); "
            "a client without trades has zeros and an empty curve."
        ),
    )
    async def admin_stats(request: Request) -> Response:
        await svc.authenticate_admin(bearer(request))
        q = query(request, m.StatsQuery)
        rows: list[TradeRecord] = []
        while batch := await engine.trades(q.client_id, None, limit=500, offset=len(rows)):
            rows += batch
            if len(batch) < 500:
                break
        st = trade_stats(t for t in rows if q.mode is None or t.mode == q.mode)
        return reply(
            m.TradeStats(
                client_id=q.client_id,
                mode=q.mode,
                open_positions=[out(t) for t in st.open],
                closed_trades=st.closed,
                wins=st.wins,
                losses=st.losses,
                win_rate=st.win_rate,
                realized_pnl=st.realized_pnl,
                equity_curve=[
                    m.CurvePoint(at=at, trade_id=tid, realized_pnl=pnl) for at, tid, pnl in st.curve
                ],
            )
        )

    async def owner(token: str | None) -> int:
        return (await svc.authenticate(token)).id

    async def stream(ws: WebSocket) -> None:
        """The client's own trade events, live (token in the header or ``?token=``)."""
        await streams.pump(ws, svc.hub, TRADE_STREAM, authenticate=owner)

    return [
        WebSocketRoute("/trades/stream", stream),
        Route("/trades/execute", execute, methods=["POST"]),
        Route("/trades/account", account, methods=["GET"]),
        Route("/trades/account/reset", account_reset, methods=["POST"]),
        Route("/trades/active", active, methods=["GET"]),
        Route("/trades/history", history, methods=["GET"]),
        Route("/trades/{trade_id:int}/close", close, methods=["POST"]),
        Route("/trades/{trade_id:int}", amend, methods=["PATCH"]),
        Route("/risk/status", risk_status, methods=["GET"]),
        Route("/risk/unblock", unblock, methods=["POST"]),
        Route("/risk/kill-switch", kill_switch, methods=["POST"]),
        Route("/admin/trades/stats", admin_stats, methods=["GET"]),
    ]


def health_route(service: TradeService) -> BaseRoute:
    """``GET /health`` of the trade service alone (``avd run`` has the market's)."""

    @operation(
        "The trade service's links (market feed, Client service) and what it holds",
        tags=("trades",),
    )
    async def health(request: Request) -> Response:
        return JSONResponse(await service.health())

    return Route("/health", health, methods=["GET"])
