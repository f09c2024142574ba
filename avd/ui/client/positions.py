"""``/positions``: the open trades, live; closing one; placing a new one.

Everything shown comes from the Trade service: the open trades
(``GET /trades/active``), the marks of the trading account
(``GET /trades/account``) and the risk status. What moves is pushed: the
market stream's prices move the unrealised P&L, the user's trade stream
adds fills, moves stops (``SLAdjusted``) and takes closed trades away.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.client.position_row import PositionRow, decimal_or_none
from avd.ui.client.risk_summary import RiskSummary
from avd.ui.client.trade_dialogs import CloseDialog, StopDialog
from avd.ui.client.trade_form import TradeForm
from avd.ui.layout import frame, money, pnl_class
from avd.ui.live import Event, follow_trades
from avd.ui.state import shared

if TYPE_CHECKING:
    from avd.ui.session import Session

#: the positions table's columns
HEADINGS = (
    "Trade",
    "Symbol",
    "Side",
    "Entry",
    "Quantity",
    "Price",
    "Unrealised P&L",
    "Stop",
    "Targets",
    "Opened (UTC)",
    "Open for",
    "",
)
#: seconds between two reads of the risk status (it has no event of its own)
RISK_REFRESH_S = 10.0
#: seconds between two reads of the account's marks (prices between market events)
MARKS_REFRESH_S = 15.0


class PositionsBoard:
    """The open trades: a table kept in step with the API and the streams."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[int, PositionRow] = {}
        self.prices: dict[str, Decimal] = {}
        #: the client's take-profit levels (bot parameters)
        self.levels: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        with ui.card().classes("w-full overflow-x-auto").mark("positions"):
            with ui.row().classes("w-full items-center"):
                ui.label("Open trades").classes("text-lg font-semibold")
                self.count = ui.label("").classes("text-slate-500").mark("positions-count")
                self.total = ui.label("").mark("positions-unrealised")
                ui.space()
                self.error = ui.label("").classes("text-red-600").mark("positions-error")
            with ui.element("table").classes("w-full text-sm"):
                with ui.element("thead"), ui.element("tr").classes("text-left text-slate-500"):
                    for heading in HEADINGS:
                        with ui.element("th").classes("px-2 py-1 font-medium whitespace-nowrap"):
                            ui.label(heading)
                self.body = ui.element("tbody").mark("positions-body")
            self.empty = ui.label("No open trades.").classes("text-slate-500").mark("no-positions")
            self.result = ui.label("").mark("close-result")
        self.closer = CloseDialog(session, self._closed)
        self.mover = StopDialog(session, self._moved)

    async def load(self) -> None:
        """Read the open trades (and the account's marks) again."""
        async with self._lock:
            try:
                active, account = await asyncio.gather(
                    self.session.get("trade", "/trades/active"),
                    self.session.get("trade", "/trades/account"),
                )
            except ServiceError as e:
                self.error.text = e.message
                return
            self.error.text = ""
            for position in account.get("positions", []):
                price = decimal_or_none(position.get("price"))
                if price is not None:
                    self.prices[position["symbol"]] = price
            self.show(active["trades"])

    async def load_levels(self) -> None:
        """The take-profit levels of the client's bot parameters."""
        with contextlib.suppress(ServiceError):
            params = await self.session.get("client", "/client/parameters")
            self.levels = list((params.get("stops") or {}).get("take_profit") or [])

    def show(self, trades: list[dict[str, Any]]) -> None:
        """Make the table show exactly ``trades`` (newest first)."""
        wanted = {t["id"]: t for t in trades}
        for tid in [t for t in self.rows if t not in wanted]:
            self.drop(tid)
        for trade in sorted(trades, key=lambda t: t["id"]):
            row = self.rows.get(trade["id"])
            if row is None:
                with self.body:
                    row = self.rows[trade["id"]] = PositionRow(self, trade)
                row.element.move(target_index=0)
            else:
                row.update(trade)
        self._counted()

    def drop(self, tid: int) -> None:
        """Take a trade off the table."""
        row = self.rows.pop(tid, None)
        if row is not None:
            self.body.remove(row.element)
        self._counted()

    def _counted(self) -> None:
        n = len(self.rows)
        self.count.text = f"{n} open" if n else ""
        self.empty.set_visibility(n == 0)
        self._totalled()

    def _totalled(self) -> None:
        marked = [r.pnl_value for r in self.rows.values() if r.pnl_value is not None]
        if not marked:
            self.total.text = ""
            return
        total = sum(marked, Decimal(0))
        self.total.text = f"unrealised {money(total)} USDT"
        self.total.classes(replace=pnl_class(f"{total:f}"))

    def tick(self) -> None:
        """Advance every row's time open."""
        for row in self.rows.values():
            row.tick()

    # -- live ---------------------------------------------------------------------------

    def on_market(self, event: Event) -> None:
        """A context or a closed candle: its close is the symbol's latest price."""
        symbol = event.get("symbol")
        price = decimal_or_none(event.get("close"))
        if not isinstance(symbol, str) or price is None:
            return
        self.prices[symbol] = price
        rows = [r for r in self.rows.values() if r.trade["symbol"] == symbol]
        for row in rows:
            row.mark_price(price)
        if rows:
            self._totalled()

    def on_stop(self, event: Event) -> None:
        """``SLAdjusted``: the stop moved (trailing, break-even, by hand)."""
        row = self.rows.get(int(event.get("trade_id", 0)))
        if row is not None:
            row.trade = {**row.trade, "tracked_stop": event["new_stop"]}
            row.set_stop(str(event["new_stop"]))

    # -- closing, moving the stop ---------------------------------------------------------

    def _describe(self, tid: int) -> str:
        row = self.rows.get(tid)
        if row is None:
            return f"Trade #{tid}"
        t = row.trade
        return (
            f"Trade #{tid}: {t['side']} {t['open_quantity']} {t['symbol']} "
            f"(entry {t.get('entry_price') or 'pending'}, now {row.price.text})"
        )

    def ask_close(self, tid: int) -> None:
        """Ask before closing trade ``tid``."""
        self.closer.ask(tid, self._describe(tid))

    def ask_stop(self, tid: int) -> None:
        """Ask where to move the stop of trade ``tid``."""
        row = self.rows.get(tid)
        self.mover.ask(tid, self._describe(tid), row.stop.text if row else "")

    def _closed(self, tid: int, closed: dict[str, Any]) -> None:
        self.drop(tid)
        self.result.text = (
            f"Trade #{tid} closed at {closed.get('exit_price')}: "
            f"realised P&L {money(closed.get('realized_pnl'))}"
        )
        self.result.classes(replace=pnl_class(closed.get("realized_pnl")))

    def _moved(self, tid: int, trade: dict[str, Any]) -> None:
        row = self.rows.get(tid)
        if row is not None:
            row.update(trade)


async def positions_page(close: int | None = None) -> None:
    """Open trades with live P&L and stops, the risk status, the new-trade form.

    ``?close=<id>`` opens the confirmation for that trade (a trade of
    another client is refused by the Trade service when confirmed).
    """
    s = sessions.require()
    if s is None:
        return
    with frame(s, "Positions"):
        risk = RiskSummary(s)
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.column().classes("flex-1 min-w-0"):
                board = PositionsBoard(s)
            form = TradeForm(s, lambda: _after_change(board, risk), board.prices)
    await _first_load(s, board, risk, form)

    async def on_trade(event: Event) -> None:
        kind = event.get("type")
        if kind == "SLAdjusted":
            board.on_stop(event)
            return
        if kind == "TradeClosed":
            board.drop(int(event["trade_id"]))
            ui.notify(
                f"{event['symbol']} trade #{event['trade_id']} closed ({event['reason']}) at "
                f"{event['exit_price']}: P&L {money(event['pnl'])}",
                type="info",
            )
        elif kind == "PartialExitTaken":
            ui.notify(
                f"{event['symbol']} trade #{event['trade_id']}: take-profit {event['level']} "
                f"sold {event['quantity']} at {event['price']}",
                type="info",
            )
        elif kind == "OrderRejected":
            ui.notify(f"{event['symbol']} {event['side']}: {event['detail']}", type="warning")
        elif kind == "DrawdownLimitReached":
            ui.notify(
                f"Drawdown {event['drawdown_percent']}% reached the limit "
                f"{event['limit_percent']}%: trading is blocked",
                type="negative",
            )
        await _after_change(board, risk)

    def on_market(event: Event) -> None:
        board.on_market(event)
        if event.get("symbol") == form.symbol.value:
            form.show_price()

    shared().market.for_page(on_market)
    follow_trades(s, on_trade)
    ui.timer(1.0, board.tick)
    ui.timer(RISK_REFRESH_S, risk.load)
    ui.timer(MARKS_REFRESH_S, board.load)
    if close is not None:
        board.ask_close(close)


async def _first_load(
    s: Session, board: PositionsBoard, risk: RiskSummary, form: TradeForm
) -> None:
    async def symbols() -> None:
        try:
            answer = await s.get("market", "/symbols/contexts", sort="symbol")
        except ServiceError as e:
            form.refusal.text = e.message
            return
        names: list[str] = []
        for context in answer.get("contexts", []):
            if context["symbol"] not in names:
                names.append(context["symbol"])
            price = decimal_or_none(context.get("last_price"))
            if price is not None:
                board.prices.setdefault(context["symbol"], price)
        form.offer(names)

    await asyncio.gather(symbols(), board.load_levels(), risk.load())
    await board.load()


async def _after_change(board: PositionsBoard, risk: RiskSummary) -> None:
    await asyncio.gather(board.load(), risk.load())
