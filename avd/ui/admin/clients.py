"""``/admin``: the clients (search, block, adjust, refund); ``/admin/client/{id}``: one client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nicegui import ui

from avd.ui.admin.actions import Actions
from avd.ui.admin.common import CLIENTS, JOURNAL, admin_session, client_url, stat, when
from avd.ui.api import ServiceError
from avd.ui.layout import DOWN, UP, frame, money, pnl_class
from avd.ui.session import Session

#: clients per page (the Client service pages its list)
PAGE_SIZE = 50
HEADERS = ("ID", "Email", "Role", "Status", "2FA", "Balance (USDT)", "Created", "")


async def clients_page() -> None:
    """Every account: search by email, page through, act on one."""
    s = admin_session()
    if s is None:
        return
    with frame(s, "Clients", admin=True):
        await _ClientsTable(s).build()


class _ClientsTable:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.offset = 0
        self.email = ""

    async def build(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.search = (
                ui.input("Search by email", placeholder="part of an address")
                .props("clearable")
                .classes("w-80")
                .mark("search")
            )
            self.search.on("keydown.enter", self.find)
            ui.button("Search", icon="search", on_click=self.find).mark("search-button")
            ui.space()
            self.showing = ui.label().classes("text-slate-500").mark("showing")
            self.prev = ui.button("Previous", on_click=lambda: self.turn(-1)).props("flat")
            self.next = ui.button("Next", on_click=lambda: self.turn(1)).props("flat")
        self.error = ui.label().classes("text-red-600").mark("error")
        self.body = ui.column().classes("w-full gap-0")
        self.actions = Actions(self.s, self.load)
        await self.load()

    async def find(self) -> None:
        self.email = (self.search.value or "").strip()
        self.offset = 0
        await self.load()

    async def turn(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * PAGE_SIZE)
        await self.load()

    async def load(self) -> None:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": self.offset}
        if self.email:
            params["email"] = self.email
        try:
            page = await self.s.get("client", "/admin/clients", **params)
        except ServiceError as e:
            self.error.text = e.message
            return
        self.error.text = ""
        rows: list[dict[str, Any]] = page["clients"]
        first = self.offset + 1 if rows else self.offset
        self.showing.text = f"{first} to {self.offset + len(rows)}" + (
            f' matching "{self.email}"' if self.email else ""
        )
        self.prev.set_enabled(self.offset > 0)
        self.next.set_enabled(len(rows) == PAGE_SIZE)
        self.body.clear()
        with self.body:
            if not rows:
                ui.label("No client matches." if self.email else "No client yet.").classes(
                    "p-4 text-slate-500"
                )
                return
            with ui.grid(columns="auto 2fr auto auto auto 1fr auto auto").classes(
                "w-full items-center gap-x-4 gap-y-1"
            ):
                for h in HEADERS:
                    ui.label(h).classes("text-xs uppercase text-slate-500 font-semibold")
                for c in rows:
                    self.row(c)

    def row(self, c: dict[str, Any]) -> None:
        cid = c["id"]
        ui.label(str(cid)).classes("text-slate-500")
        ui.link(c["email"], client_url(cid)).mark(f"client-{cid}")
        ui.label(c["role"])
        ui.badge(
            "blocked" if c["blocked"] else "active", color="red" if c["blocked"] else "green"
        ).mark(f"status-{cid}")
        ui.label("on" if c["totp_enabled"] else "off")
        ui.label(money(c["balance"])).classes("text-right font-mono").mark(f"balance-{cid}")
        ui.label(when(c["created_at"])).classes("text-slate-500 text-sm")
        with ui.row().classes("gap-1 no-wrap"):
            if c["id"] != self.s.client_id:
                if c["blocked"]:
                    ui.button("Unblock", on_click=lambda c=c: self.actions.block(c, False)).props(
                        "dense flat color=primary"
                    ).mark(f"unblock-{cid}")
                else:
                    ui.button("Block", on_click=lambda c=c: self.actions.block(c, True)).props(
                        "dense flat color=negative"
                    ).mark(f"block-{cid}")
            ui.button("Adjust", on_click=lambda c=c: self.actions.adjust(c)).props(
                "dense flat"
            ).mark(f"adjust-{cid}")
            ui.button("Refund", on_click=lambda c=c: self.actions.adjust(c, "refund")).props(
                "dense flat"
            ).mark(f"refund-{cid}")


# -- one client ------------------------------------------------------------------------

LEDGER_COLUMNS: list[dict[str, Any]] = [
    {"name": "at", "label": "When", "field": "at", "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "amount", "label": "Amount (USDT)", "field": "amount", "align": "right"},
    {"name": "detail", "label": "Detail", "field": "detail", "align": "left"},
]
POSITION_COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "Trade", "field": "id", "align": "left"},
    {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
    {"name": "mode", "label": "Mode", "field": "mode", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "quantity", "label": "Quantity", "field": "quantity", "align": "right"},
    {"name": "entry", "label": "Entry", "field": "entry_price", "align": "right"},
    {"name": "stop", "label": "Stop", "field": "stop", "align": "right"},
    {"name": "opened", "label": "Opened", "field": "opened", "align": "left"},
]


async def client_page(client_id: int) -> None:
    """One client: the account, its balance and ledger, and its bot's statistics."""
    s = admin_session()
    if s is None:
        return
    with frame(s, "Clients", admin=True):
        ui.link("← All clients", CLIENTS).classes("text-sm")
        body = ui.column().classes("w-full gap-4")

        async def load() -> None:
            body.clear()
            with body:
                await _client_detail(s, client_id, actions)

        actions = Actions(s, load)
        await load()


async def _client_detail(s: Session, client_id: int, actions: Actions) -> None:
    try:
        c = await s.get("client", f"/admin/clients/{client_id}")
    except ServiceError as e:
        ui.label(e.message if e.status != 404 else f"No client {client_id}.").classes(
            "text-red-600"
        ).mark("error")
        return
    with ui.row().classes("w-full items-center gap-3"):
        ui.label(c["email"]).classes("text-xl font-semibold").mark("email")
        ui.badge(
            "blocked" if c["blocked"] else "active", color="red" if c["blocked"] else "green"
        ).mark("status")
        ui.label(f"{c['role']} · id {c['id']} · since {when(c['created_at'])}").classes(
            "text-slate-500"
        )
        ui.label("2FA on" if c["totp_enabled"] else "2FA off").classes("text-slate-500")
        ui.space()
        if c["id"] != s.client_id:
            if c["blocked"]:
                ui.button("Unblock", on_click=lambda: actions.block(c, False)).mark("unblock")
            else:
                ui.button("Block", on_click=lambda: actions.block(c, True)).props(
                    "color=negative"
                ).mark("block")
        ui.button("Adjust balance", on_click=lambda: actions.adjust(c)).props("outline").mark(
            "adjust"
        )
        ui.button("Refund", on_click=lambda: actions.adjust(c, "refund")).props("outline").mark(
            "refund"
        )
    await _bot_stats(s, c)
    with ui.row().classes("w-full gap-4 items-start"):
        with ui.card().classes("flex-1 min-w-96"):
            ui.label("Prepaid ledger").classes("text-lg font-semibold")
            await _ledger(s, client_id)
        with ui.card().classes("flex-1 min-w-96"):
            with ui.row().classes("w-full items-center"):
                ui.label("Journal").classes("text-lg font-semibold")
                ui.space()
                ui.link("Full journal", f"{JOURNAL}?subject={client_id}").classes("text-sm")
            await _journal(s, client_id)


async def _bot_stats(s: Session, c: dict[str, Any]) -> None:
    try:
        st = await s.get("trade", "/admin/trades/stats", client_id=c["id"])
    except ServiceError as e:
        st = None
        failure = e.message
    with ui.row().classes("w-full gap-3"):
        stat("Balance (USDT)", money(c["balance"]), mark="stat-balance")
        stat("Platform fees paid", money(c["fees_paid"]), mark="stat-fees")
        if st is None:
            ui.label(f"Bot statistics unavailable: {failure}").classes("text-red-600").mark(
                "stats-error"
            )
            return
        stat("Open positions", str(len(st["open_positions"])), mark="stat-open")
        stat(
            "Realized P&L",
            money(st["realized_pnl"]),
            mark="stat-pnl",
            classes=pnl_class(st["realized_pnl"]),
        )
        rate = st["win_rate"]
        stat("Win rate", "—" if rate is None else _percent(rate), mark="stat-winrate")
        stat(
            "Closed trades",
            f"{st['closed_trades']} ({st['wins']} won, {st['losses']} lost)",
            mark="stat-closed",
        )
    with ui.row().classes("w-full gap-4 items-start"):
        with ui.card().classes("flex-1 min-w-96"):
            ui.label("Cumulative realized P&L (USDT)").classes("text-lg font-semibold")
            _curve(st["equity_curve"])
        with ui.card().classes("flex-1 min-w-96"):
            ui.label("Open positions").classes("text-lg font-semibold")
            rows = [
                {
                    "id": t["id"],
                    "symbol": t["symbol"],
                    "mode": t["mode"],
                    "status": t["status"],
                    "quantity": t["quantity"],
                    "entry_price": t["entry_price"] or "—",
                    "stop": t["tracked_stop"] or t["stop_loss"],
                    "opened": when(t["created_at"]),
                }
                for t in st["open_positions"]
            ]
            ui.table(columns=POSITION_COLUMNS, rows=rows, row_key="id").classes("w-full").props(
                "flat dense"
            ).mark("positions")


def _percent(ratio: str) -> str:
    return f"{Decimal(ratio) * 100:.1f} %"


def _curve(points: list[dict[str, Any]]) -> None:
    if not points:
        ui.label("No closed trade yet.").classes("text-slate-500").mark("curve-empty")
        return
    last = points[-1]["realized_pnl"]
    colour = DOWN if str(last).startswith("-") else UP
    ui.echart(
        {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 60, "right": 20, "top": 20, "bottom": 40},
            "xAxis": {"type": "time"},
            "yAxis": {"type": "value", "scale": True},
            # decimal strings: ECharts reads them as numbers, the UI never rounds them
            "series": [
                {
                    "type": "line",
                    "step": "end",
                    "showSymbol": len(points) < 60,
                    "lineStyle": {"color": colour},
                    "itemStyle": {"color": colour},
                    "areaStyle": {"color": colour, "opacity": 0.08},
                    "data": [[p["at"], p["realized_pnl"]] for p in points],
                }
            ],
        }
    ).classes("w-full h-64").mark("curve")


async def _ledger(s: Session, client_id: int) -> None:
    try:
        ops = (await s.get("client", f"/admin/clients/{client_id}/history", limit=100))[
            "operations"
        ]
    except ServiceError as e:
        ui.label(e.message).classes("text-red-600")
        return
    rows = [
        {
            "key": f"{o['type']}-{o['id']}",
            "at": when(o["at"]),
            "type": o["type"] + (f" ({o['status']})" if o.get("status") else ""),
            "amount": money(o["amount"]),
            "detail": " · ".join(
                x
                for x in (
                    o.get("reason"),
                    o.get("symbol"),
                    f"fee {money(o['fee'])}" if o.get("fee") is not None else None,
                )
                if x
            ),
        }
        for o in ops
    ]
    ui.table(columns=LEDGER_COLUMNS, rows=rows, row_key="key", pagination=15).classes(
        "w-full"
    ).props("flat dense").mark("ledger")


async def _journal(s: Session, client_id: int) -> None:
    try:
        entries = (await s.get("client", "/admin/journal", subject_id=client_id, limit=20))[
            "entries"
        ]
    except ServiceError as e:
        ui.label(e.message).classes("text-red-600")
        return
    from avd.ui.admin.journal import COLUMNS, journal_rows

    ui.table(columns=COLUMNS, rows=journal_rows(entries), row_key="id").classes("w-full").props(
        "flat dense"
    ).mark("client-journal")
