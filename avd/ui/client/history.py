"""``/history``: closed trades, their totals, the cumulative P&L and equity charts, CSV.

The trades and their realised P&L are the Trade service's
(``GET /trades/history``); the platform fee charged on each is the Client
service's (``GET /client/history``); the equity is the trading account's
(``GET /trades/account``). A trade that closes while the page is open
(``TradeClosed`` on the user's trade stream) is added without a reload.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.client import closed_trades as ct
from avd.ui.client import timefmt
from avd.ui.layout import DOWN, UP, frame, money, pnl_class
from avd.ui.live import Event, follow_trades

if TYPE_CHECKING:
    from avd.ui.session import Session

#: trades per ``/trades/history`` request (its maximum) and requests at most
PAGE = 500
MAX_PAGES = 40
#: seconds after a close to read the history again, for the fee charged on it
FEE_DELAY_S = 3.0

#: sorts the table's decimal strings by value, in the browser only (display stays exact)
BY_VALUE = "(a, b) => parseFloat(a || 0) - parseFloat(b || 0)"


def _column(field: str, label: str, *, text: bool = False, sortable: bool = True) -> dict[str, Any]:
    column: dict[str, Any] = {"name": field, "label": label, "field": field, "sortable": sortable}
    if text:
        column["align"] = "left"
    elif sortable:
        column[":sort"] = BY_VALUE
    return column


COLUMNS: list[dict[str, Any]] = [
    _column("id", "Trade", text=True),
    _column("symbol", "Symbol", text=True),
    _column("side", "Side", text=True),
    _column("mode", "Mode", text=True),
    _column("entry_price", "Entry"),
    _column("exit_price", "Exit"),
    _column("quantity", "Quantity"),
    _column("realized_pnl", "P&L"),
    _column("platform_fee", "Fee"),
    _column("close_reason", "Exit reason", text=True),
    _column("opened", "Opened (UTC)", text=True),
    _column("closed", "Closed (UTC)", text=True),
    _column("held", "Held", text=True, sortable=False),
]


def table_row(trade: ct.Row, fees: dict[int, str]) -> dict[str, Any]:
    """A closed trade as the table shows it (decimals as the API wrote them)."""
    return {
        "id": trade["id"],
        "symbol": trade["symbol"],
        "side": trade["side"],
        "mode": trade["mode"],
        "entry_price": trade.get("entry_price") or "",
        "exit_price": trade.get("exit_price") or "",
        "quantity": trade["quantity"],
        "realized_pnl": trade["realized_pnl"],
        "platform_fee": fees.get(trade["id"], ""),
        "close_reason": trade.get("close_reason") or "",
        "opened": timefmt.when(trade["created_at"]),
        "closed": timefmt.when(trade.get("closed_at")),
        "held": timefmt.between(trade["created_at"], trade.get("closed_at")),
    }


def line_chart(title: str, name: str, colour: str) -> ui.echart:
    """An empty time-series line chart (filled by :func:`set_series`)."""
    return ui.echart(
        {
            "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
            "useUTC": True,  # as the table's times
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 70, "right": 20, "top": 40, "bottom": 50},
            "xAxis": {"type": "time"},
            "yAxis": {"type": "value", "scale": True},
            "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 18, "bottom": 8}],
            "series": [
                {
                    "name": name,
                    "type": "line",
                    "step": "end",
                    "showSymbol": True,
                    "symbolSize": 5,
                    "lineStyle": {"color": colour},
                    "itemStyle": {"color": colour},
                    "areaStyle": {"opacity": 0.08, "color": colour},
                    "data": [],
                }
            ],
        }
    ).classes("w-full h-72")


def set_series(chart: ui.echart, points: list[tuple[str, Any]]) -> None:
    """Show ``points`` (time, decimal): values go as exact strings, ECharts reads them."""
    chart.options["series"][0]["data"] = [[at, f"{value:f}"] for at, value in points]
    chart.update()


class History:
    """The History page's parts and how they are filled."""

    TILES = (
        ("total-trades", "Closed trades"),
        ("total-winrate", "Win rate"),
        ("total-pnl", "Realised P&L"),
        ("total-fees", "Platform fees"),
        ("total-net", "Net of fees"),
        ("total-best", "Best / worst"),
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        self.closed: list[ct.Row] = []
        self.fees: dict[int, str] = {}
        self._lock = asyncio.Lock()
        self.error = ui.label("").classes("text-red-600").mark("history-error")
        self.tiles: dict[str, ui.label] = {}
        with ui.row().classes("w-full gap-3"):
            for mark, title in self.TILES:
                with ui.card().classes("min-w-36 gap-0 px-4 py-2"):
                    ui.label(title).classes("text-xs uppercase text-slate-500")
                    self.tiles[mark] = ui.label("…").classes("text-lg font-semibold").mark(mark)
        with ui.row().classes("w-full gap-4 flex-nowrap max-lg:flex-wrap"):
            with ui.card().classes("flex-1 min-w-80"):
                self.pnl_chart = line_chart("Cumulative realised P&L (USDT)", "P&L", UP).mark(
                    "pnl-chart"
                )
            with ui.card().classes("flex-1 min-w-80"):
                self.equity_chart = line_chart("Trading account equity (USDT)", "Equity", "#2563eb")
                self.equity_chart.mark("equity-chart")
        with ui.card().classes("w-full"):
            with ui.row().classes("w-full items-center"):
                ui.label("Closed trades").classes("text-lg font-semibold")
                ui.space()
                search = (
                    ui.input(placeholder="Filter").props("dense clearable").mark("history-filter")
                )
                ui.button("Export CSV", icon="download", on_click=self.export).props(
                    "outline"
                ).mark("export-csv")
            self.table = (
                ui.table(
                    columns=COLUMNS,
                    rows=[],
                    row_key="id",
                    pagination={"rowsPerPage": 25, "sortBy": "closed", "descending": True},
                )
                .classes("w-full")
                .mark("history-table")
            )
            self.table.add_slot(
                "body-cell-realized_pnl",
                f"""<q-td :props="props" :style="{{color: (props.value || '').startsWith('-')
                    ? '{DOWN}' : (parseFloat(props.value) > 0 ? '{UP}' : '')}}">
                    {{{{ props.value }}}}
                </q-td>""",
            )
            search.bind_value_to(self.table, "filter")
            ui.label(
                "P&L counts the exchange's commissions; the fee is the platform's, charged on "
                "your prepaid balance when the trade closed."
            ).classes("text-xs text-slate-500")

    async def load(self) -> None:
        """Read the trades, the fees and the account again, and redraw."""
        async with self._lock:
            try:
                trades, operations, account = await asyncio.gather(
                    self._all("trade", "/trades/history", "trades"),
                    self._all("client", "/client/history", "operations"),
                    self.session.get("trade", "/trades/account"),
                )
            except ServiceError as e:
                self.error.text = e.message
                return
            self.error.text = ""
            self.closed = ct.closed_only(trades)
            self.fees = ct.fees_by_trade(operations)
            self.show(account)

    async def _all(self, service: Any, path: str, key: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            answer = await self.session.get(service, path, limit=PAGE, offset=page * PAGE)
            rows += answer[key]
            if len(answer[key]) < PAGE:
                break
        return rows

    def show(self, account: dict[str, Any] | None) -> None:
        """Draw the totals, the charts and the table from what was read."""
        t = ct.totals(self.closed, self.fees)
        self._tile("total-trades", f"{t.trades}", "")
        rate = t.win_rate
        self._tile("total-winrate", "—" if rate is None else f"{rate}%", "")
        self._tile("total-pnl", money(t.realized_pnl), pnl_class(f"{t.realized_pnl:f}"))
        self._tile("total-fees", money(t.fees), "")
        self._tile("total-net", money(t.net), pnl_class(f"{t.net:f}"))
        best = "—" if t.best is None else f"{money(t.best)} / {money(t.worst)}"
        self._tile("total-best", best, "")
        set_series(self.pnl_chart, ct.cumulative_pnl(self.closed))
        set_series(self.equity_chart, ct.equity_curve(self.closed, account, timefmt.now_iso()))
        self.table.rows = [table_row(trade, self.fees) for trade in reversed(self.closed)]
        self.table.update()

    def _tile(self, mark: str, text: str, colour: str) -> None:
        self.tiles[mark].text = text
        self.tiles[mark].classes(replace=f"text-lg font-semibold {colour}".strip())

    def export(self) -> None:
        """Download the closed trades as CSV (the API's values, exactly)."""
        text = ct.csv_text(self.closed, self.fees)
        ui.download.content(text.encode(), "avd-trades.csv", "text/csv")


async def history_page() -> None:
    """Closed trades with P&L, fees and exit reason; charts; CSV export."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "History"):
        page = History(s)
    await page.load()

    async def on_trade(event: Event) -> None:
        if event.get("type") in ("TradeClosed", "PartialExitTaken"):
            await page.load()
            # the platform fee is charged just after the close: read it again shortly
            ui.timer(FEE_DELAY_S, page.load, once=True)

    follow_trades(s, on_trade)
