"""The trading account card (paper or live): balances, P&L and the equity curve.

The capital trades are sized against (``GET /trades/account``), never the
prepaid balance. The Trade engine keeps no equity history, so the curve is
built from what it offers: the starting balance, each closed trade's
realized P&L since then (``GET /trades/history``), and today's equity
marked to market as the last point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nicegui import ui

from avd.ui.api import ServiceError
from avd.ui.layout import DOWN, UP, money, pnl_class, refusal
from avd.ui.session import Session

#: trades read per page of ``/trades/history`` (its maximum) and pages at most
HISTORY_PAGE = 500
HISTORY_PAGES = 20

BALANCE_COLUMNS: list[dict[str, Any]] = [
    {"name": "asset", "label": "Asset", "field": "asset", "align": "left", "sortable": True},
    {"name": "free", "label": "Free", "field": "free", "align": "right"},
    {"name": "locked", "label": "Locked", "field": "locked", "align": "right"},
    {"name": "price", "label": "Price", "field": "price", "align": "right"},
    {"name": "value", "label": "Value", "field": "value", "align": "right"},
]


def balance_row(b: dict[str, Any]) -> dict[str, Any]:
    """One balance of ``GET /trades/account`` as a table row (quantities as the API gives them)."""
    return {
        "asset": b["asset"],
        "free": b["free"],
        "locked": b["locked"],
        "price": b["price"] if b.get("price") is not None else "—",
        "value": money(b["value"]) if b.get("value") is not None else "unpriced",
    }


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def equity_points(
    account: dict[str, Any], trades: list[dict[str, Any]], now: datetime
) -> list[tuple[str, str]]:
    """``(ISO time, equity)`` points: the start, after each closed trade, and now.

    Only trades of the account's mode opened since its last reset count (a
    reset is refused while a trade is open, so none straddles it). Without a
    recorded start (an account never reset), the start is what today's
    equity was before the realized and unrealized P&L.
    """
    equity = Decimal(account["equity"])
    since = _instant(account["reset_at"]) if account.get("reset_at") else None
    closed = [
        t
        for t in trades
        if t["mode"] == account["mode"]
        and t["status"] == "closed"
        and t.get("closed_at")
        and (since is None or _instant(t["created_at"]) >= since)
    ]
    closed.sort(key=lambda t: (_instant(t["closed_at"]), t["id"]))
    if account.get("starting_balance") is not None:
        start = Decimal(account["starting_balance"])
    else:
        start = equity - Decimal(account["realized_pnl"]) - Decimal(account["unrealized_pnl"])
    first = since or (_instant(closed[0]["created_at"]) if closed else now)
    points = [(first.isoformat(), str(start))]
    running = start
    for t in closed:
        running += Decimal(t["realized_pnl"])
        points.append((_instant(t["closed_at"]).isoformat(), str(running)))
    points.append((now.isoformat(), str(equity)))
    return points


def equity_options(points: list[tuple[str, str]], currency: str) -> dict[str, Any]:
    """The ECharts options of the equity curve."""
    values = [Decimal(v) for _, v in points]
    rising = values[-1] >= values[0]
    flat = len(points) < 3  # the start and now: no trade closed yet
    return {
        "title": {
            "show": flat,
            "text": "No closed trade yet",
            "left": "center",
            "top": "middle",
            "textStyle": {"color": "#94a3b8", "fontSize": 14, "fontWeight": "normal"},
        },
        "animation": False,
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 60},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "scale": True, "name": currency},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 18, "bottom": 10}],
        "series": [
            {
                "name": "Equity",
                "type": "line",
                "step": "end",
                "showSymbol": len(points) <= 60,
                "data": [list(p) for p in points],
                "lineStyle": {"color": UP if rising else DOWN},
                "itemStyle": {"color": UP if rising else DOWN},
                "areaStyle": {"opacity": 0.08},
            }
        ],
    }


class TradingAccount:
    """The card: which account, its numbers, its balances, its equity curve."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.mode: str | None = None  # None: the mode of the client's bot parameters
        self.data: dict[str, Any] = {}

    def build(self) -> None:
        """Lay the card out (filled by :meth:`load`)."""
        with ui.card().classes("flex-[2] min-w-96 gap-2").mark("trading-account"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Trading account").classes("text-lg font-semibold")
                self.badge = ui.badge("").mark("account-mode")
                ui.space()
                self.toggle = ui.toggle(
                    {"paper": "Paper", "live": "Live"}, on_change=self._switch
                ).props("dense no-caps")
            ui.label(
                "Your trading capital: trades are sized, capped and paid from this account "
                "(on paper, a simulated account at real prices). The prepaid balance never trades."
            ).classes("text-sm text-slate-500")
            self.error = ui.label().classes("text-red-600").mark("account-error")
            with ui.row().classes("w-full gap-8"):
                self.equity = self._stat("Equity", "account-equity")
                self.start = self._stat("Starting balance", "account-start")
                self.realized = self._stat("Realized P&L", "account-realized")
                self.unrealized = self._stat("Unrealized P&L", "account-unrealized")
                self.exposure = self._stat("Open exposure", "account-exposure")
            self.balances = (
                ui.table(columns=BALANCE_COLUMNS, rows=[], row_key="asset")
                .classes("w-full")
                .props("flat dense hide-pagination no-data-label='No balances'")
                .mark("account-balances")
            )
            self.unpriced = ui.label().classes("text-sm text-amber-700")
            ui.label(
                "Equity: the starting balance plus each closed trade's realized P&L; "
                "the last point is the equity now, marked to market."
            ).classes("text-sm text-slate-500")
            self.chart = ui.echart(equity_options([("", "0")], "USDT")).classes("w-full h-64")
            self.chart.mark("equity-chart")
            self.reset_button = ui.button(
                "Reset the paper account", icon="restart_alt", on_click=self._open_reset
            ).props("outline")
            self.reset_button.mark("account-reset-open")
        with ui.dialog() as self.reset_dialog, ui.card().classes("w-96 gap-3"):
            ui.label("Reset the paper account").classes("text-lg font-semibold")
            ui.label(
                "The paper account starts again from this balance (refused while a paper "
                "trade is open). Your trade history is kept."
            ).classes("text-sm text-slate-500")
            self.reset_amount = (
                ui.input("Starting balance", value="10000")
                .props("suffix=USDT inputmode=decimal")
                .mark("account-reset-amount")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.reset_dialog.close).props("flat")
                ui.button("Reset", on_click=self._reset).props("color=negative").mark(
                    "account-reset"
                )

    @staticmethod
    def _stat(title: str, marker: str) -> ui.label:
        with ui.column().classes("gap-0"):
            ui.label(title).classes("text-xs uppercase text-slate-500")
            return ui.label("—").classes("text-xl font-semibold").mark(marker)

    async def load(self) -> None:
        """Read the account (and the closed trades for its curve)."""
        params = {"mode": self.mode} if self.mode else {}
        try:
            acc = await self.s.get("trade", "/trades/account", **params)
            trades = await self._closed_trades()
        except ServiceError as e:
            self.error.text = e.message
            self._blank()
            return
        self.error.text = ""
        self.data = acc
        self.mode = acc["mode"]
        self.toggle.set_value(acc["mode"])
        self.badge.text = f"{acc['mode']} · {acc['currency']}"
        self.badge.props(f"color={'orange' if acc['mode'] == 'live' else 'blue'}")
        cur = acc["currency"]
        self.equity.text = f"{money(acc['equity'])} {cur}"
        self.start.text = (
            f"{money(acc['starting_balance'])} {cur}" if acc.get("starting_balance") else "—"
        )
        for label, key in ((self.realized, "realized_pnl"), (self.unrealized, "unrealized_pnl")):
            label.text = f"{money(acc[key])} {cur}"
            label.classes(replace=f"text-xl font-semibold {pnl_class(acc[key])}")
        self.exposure.text = f"{money(acc['open_exposure'])} {cur}"
        self.balances.update_rows([balance_row(b) for b in acc["balances"]])
        self.unpriced.text = (
            f"Not valued (no price): {', '.join(acc['unpriced'])}" if acc.get("unpriced") else ""
        )
        points = equity_points(acc, trades, datetime.now(UTC))
        self.chart.options.clear()
        self.chart.options.update(equity_options(points, cur))
        self.chart.update()
        self.reset_button.set_visibility(acc["mode"] == "paper")

    def _blank(self) -> None:
        """No account to show (the one asked for cannot be read): no stale numbers either."""
        for label in (self.equity, self.start, self.realized, self.unrealized, self.exposure):
            label.text = "—"
        self.balances.update_rows([])
        self.unpriced.text = ""
        self.badge.text = self.mode or ""
        self.reset_button.set_visibility(False)

    async def _closed_trades(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(HISTORY_PAGES):
            got = await self.s.get(
                "trade", "/trades/history", limit=HISTORY_PAGE, offset=page * HISTORY_PAGE
            )
            out += got["trades"]
            if len(got["trades"]) < HISTORY_PAGE:
                break
        return out

    async def _switch(self) -> None:
        if self.toggle.value and self.toggle.value != self.mode:
            self.mode = str(self.toggle.value)
            await self.load()

    def _open_reset(self) -> None:
        self.reset_amount.error = None
        self.reset_dialog.open()

    async def _reset(self) -> None:
        body = {"balance": (self.reset_amount.value or "").strip()}
        try:
            await self.s.post("trade", "/trades/account/reset", body)
        except ServiceError as e:
            if e.status == 422:
                self.reset_amount.error = e.detail.removeprefix("balance: ")
            else:
                refusal(e)
            return
        self.reset_dialog.close()
        ui.notify(f"The paper account starts again at {money(body['balance'])} USDT.")
        await self.load()
