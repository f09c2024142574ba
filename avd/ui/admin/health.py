"""``/admin/health``: the market streams, the hub's queues, the trade service, the exchange.

Health has no event: the page asks the services' ``/health`` every few
seconds (``ui.timer``) and redraws.
"""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.admin.common import admin_session, stat
from avd.ui.api import ServiceError
from avd.ui.layout import frame
from avd.ui.session import Session

#: seconds between two reads of ``/health``
REFRESH_S = 3.0

CONNECTION_COLUMNS: list[dict[str, Any]] = [
    {"name": "n", "label": "#", "field": "n", "align": "left"},
    {"name": "state", "label": "State", "field": "state", "align": "left"},
    {"name": "streams", "label": "Streams", "field": "streams", "align": "left"},
    {"name": "lag", "label": "Lag (ms)", "field": "lag", "align": "right"},
    {"name": "last", "label": "Last message", "field": "last", "align": "right"},
    {"name": "connects", "label": "Connects", "field": "connects", "align": "right"},
    {"name": "reconnects", "label": "Reconnects", "field": "reconnects", "align": "right"},
    {"name": "errors", "label": "Last error", "field": "errors", "align": "left"},
]
STREAM_COLUMNS: list[dict[str, Any]] = [
    {"name": "stream", "label": "Stream", "field": "stream", "align": "left"},
    {"name": "published", "label": "Closed candles", "field": "published", "align": "right"},
    {"name": "backfilled", "label": "Backfilled", "field": "backfilled", "align": "right"},
    {"name": "duplicates", "label": "Duplicates", "field": "duplicates", "align": "right"},
    {"name": "gaps", "label": "Gaps", "field": "gaps", "align": "right"},
]
QUEUE_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Subscriber", "field": "name", "align": "left"},
    {"name": "depth", "label": "Depth", "field": "depth", "align": "right"},
    {"name": "high_water", "label": "High water", "field": "high_water", "align": "right"},
    {"name": "delivered", "label": "Delivered", "field": "delivered", "align": "right"},
    {"name": "dropped", "label": "Dropped", "field": "dropped", "align": "right"},
    {"name": "errors", "label": "Errors", "field": "errors", "align": "right"},
    {"name": "lag", "label": "Lag (ms)", "field": "lag", "align": "right"},
    {"name": "max_lag", "label": "Max lag (ms)", "field": "max_lag", "align": "right"},
]


async def health_page() -> None:
    """The platform's health, read again every few seconds."""
    s = admin_session()
    if s is None:
        return
    with frame(s, "Health", admin=True):
        with ui.row().classes("w-full items-center"):
            updated = ui.label().classes("text-slate-500").mark("updated")
        body = ui.column().classes("w-full gap-4")

        async def refresh() -> None:
            market, trade = await _read(s)
            body.clear()
            with body:
                _render(market, trade)
            updated.text = f"Updated {time.strftime('%H:%M:%S')} · every {REFRESH_S:g} s"

        await refresh()
        ui.timer(REFRESH_S, refresh)


async def _read(s: Session) -> tuple[dict[str, Any] | str, dict[str, Any] | str | None]:
    """The market's and (when it runs apart) the trade service's ``/health``, or why not."""
    urls = sessions.api().locate()
    market: dict[str, Any] | str
    trade: dict[str, Any] | str | None = None
    try:
        market = await s.get("market", "/health")
    except ServiceError as e:
        market = e.message
    if urls.trade != urls.market:
        try:
            trade = await s.get("trade", "/health")
        except ServiceError as e:
            trade = e.message
    return market, trade


def _render(market: dict[str, Any] | str, trade: dict[str, Any] | str | None) -> None:
    if isinstance(market, str):
        ui.label(f"Market service: {market}").classes("text-red-600").mark("market-error")
        return
    feed = market.get("streams") or {}
    conns: list[dict[str, Any]] = feed.get("connections", [])
    hub: dict[str, dict[str, Any]] = market.get("hub") or {}
    up = sum(1 for c in conns if c.get("connected"))
    with ui.row().classes("w-full gap-3"):
        stat(
            "Market",
            str(market.get("status", "?")),
            mark="market-status",
            classes="text-green-600" if market.get("status") == "ok" else "text-red-600",
        )
        stat("Exchange", str(feed.get("exchange") or "?"), mark="exchange")
        stat(
            "Connections up",
            f"{up} / {len(conns)}",
            mark="connections-up",
            classes="" if up == len(conns) else "text-red-600",
        )
        stat("Reconnects", str(sum(c.get("reconnects", 0) for c in conns)), mark="reconnects")
        lags = [c["lag_ms"] for c in conns if c.get("lag_ms") is not None]
        stat("Max stream lag", f"{max(lags):.1f} ms" if lags else "—", mark="lag")
        stat("Candles processed", str(market.get("klines_processed", 0)), mark="klines")
        if trade is None:
            stat("Trading", "in this process (paper by default)", mark="trading")
    now = time.time()
    with ui.card().classes("w-full"):
        ui.label("Stream connections").classes("text-lg font-semibold")
        rows = [
            {
                "n": i + 1,
                "state": "up" if c.get("connected") else "down",
                "streams": ", ".join(c.get("streams", [])),
                "lag": "—" if c.get("lag_ms") is None else f"{c['lag_ms']:.1f}",
                "last": "—"
                if not c.get("last_message_at")
                else f"{max(0.0, now - c['last_message_at']):.0f} s ago",
                "connects": c.get("connects", 0),
                "reconnects": c.get("reconnects", 0),
                "errors": (c.get("errors") or ["—"])[-1],
            }
            for i, c in enumerate(conns)
        ]
        ui.table(columns=CONNECTION_COLUMNS, rows=rows, row_key="n").classes("w-full").props(
            "flat dense"
        ).mark("connections")
    with ui.row().classes("w-full gap-4 items-start"):
        with ui.card().classes("flex-1 min-w-96"):
            ui.label("Hub queues").classes("text-lg font-semibold")
            q_rows = [
                {
                    "name": name,
                    "depth": q.get("depth"),
                    "high_water": q.get("high_water"),
                    "delivered": q.get("delivered"),
                    "dropped": (q.get("dropped") or 0) + (q.get("dropped_updates") or 0),
                    "errors": q.get("errors"),
                    "lag": f"{q.get('last_lag_ms') or 0:.2f}",
                    "max_lag": f"{q.get('max_lag_ms') or 0:.2f}",
                }
                for name, q in hub.items()
            ]
            ui.table(columns=QUEUE_COLUMNS, rows=q_rows, row_key="name").classes("w-full").props(
                "flat dense"
            ).mark("queues")
        with ui.card().classes("flex-1 min-w-96"):
            ui.label("Candle streams").classes("text-lg font-semibold")
            s_rows = [
                {
                    "stream": name,
                    "published": st.get("published_closed"),
                    "backfilled": st.get("backfilled"),
                    "duplicates": st.get("duplicates"),
                    "gaps": st.get("gaps"),
                }
                for name, st in (feed.get("streams") or {}).items()
            ]
            ui.table(columns=STREAM_COLUMNS, rows=s_rows, row_key="stream").classes("w-full").props(
                "flat dense"
            ).mark("streams")
    rest = feed.get("rest")
    if rest:
        with ui.card().classes("w-full"):
            ui.label("Exchange REST weight").classes("text-lg font-semibold")
            ui.label(" · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in rest.items())).classes(
                "text-slate-600"
            ).mark("rest")
    if trade is not None:
        _trade(trade)


def _trade(trade: dict[str, Any] | str) -> None:
    with ui.card().classes("w-full"):
        ui.label("Trade service").classes("text-lg font-semibold")
        if isinstance(trade, str):
            ui.label(trade).classes("text-red-600").mark("trade-error")
            return
        client = trade.get("client") or {}
        feed = trade.get("market") or {}
        with ui.row().classes("gap-3"):
            stat("Status", str(trade.get("status")), mark="trade-status")
            stat("Tracked positions", str(trade.get("positions")), mark="trade-positions")
            stat("Fees to charge", str(trade.get("fees_owed")), mark="trade-fees")
            stat(
                "Client service",
                "reachable" if client.get("reachable", True) else "unreachable",
                mark="trade-client",
            )
            stat(
                "Market feed",
                "connected" if feed.get("connected", True) else "down",
                mark="trade-feed",
            )
