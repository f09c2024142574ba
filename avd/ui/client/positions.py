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
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.client import timefmt
from avd.ui.client.risk_summary import RiskSummary
from avd.ui.client.trade_form import TradeForm
from avd.ui.layout import frame, money, pnl_class, refusal
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


def decimal_or_none(value: object) -> Decimal | None:
    """A decimal from the API or a stream (a JSON float goes through its shortest repr)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def unrealised(side: str, entry: Decimal, price: Decimal, quantity: Decimal) -> Decimal:
    """What the open quantity would make or lose at ``price``."""
    move = price - entry if side == "BUY" else entry - price
    return move * quantity


def targets_of(trade: dict[str, Any], levels: list[dict[str, Any]]) -> list[str]:
    """Each take-profit level: its price (entry plus R times the initial risk) and share.

    The trade's own levels when the API gives them, else the client's bot
    parameters, which every trade placed without levels follows.
    """
    own = trade.get("take_profits")
    plan: list[dict[str, Any]] = own if isinstance(own, list) else levels
    entry = decimal_or_none(trade.get("entry_price"))
    initial = decimal_or_none(trade.get("initial_stop"))
    out = []
    for level in plan:
        r = Decimal(str(level["r_multiple"]))
        share = f"{Decimal(str(level['fraction'])) * 100:f}".rstrip("0").rstrip(".")
        if entry is None or initial is None:
            out.append(f"{r:f}R · {share}%")
            continue
        places = min(entry.as_tuple().exponent, initial.as_tuple().exponent, 0)
        target = (entry + r * (entry - initial)).quantize(Decimal(1).scaleb(int(places)))
        out.append(f"{target:f} ({r:f}R · {share}%)")
    return out


class PositionRow:
    """One open trade in the table, updated in place."""

    def __init__(self, board: PositionsBoard, trade: dict[str, Any]) -> None:
        self.board = board
        self.trade = trade
        tid = trade["id"]
        cell = "px-2 py-1 align-top"
        with ui.element("tr").classes("border-t").mark(f"row-{tid}") as self.element:
            with ui.element("td").classes(cell):
                ui.label(f"#{tid}")
                ui.label(f"{trade['mode']} · {trade['origin']}").classes("text-xs text-slate-500")
            with ui.element("td").classes(cell):
                ui.link(trade["symbol"], f"/symbol/{trade['symbol']}").mark(f"symbol-{tid}")
            with ui.element("td").classes(cell):
                ui.label(trade["side"]).classes(
                    "text-green-700" if trade["side"] == "BUY" else "text-red-700"
                )
            with ui.element("td").classes(cell):
                self.entry = ui.label().mark(f"entry-{tid}")
            with ui.element("td").classes(cell):
                self.quantity = ui.label().mark(f"qty-{tid}")
                self.quantity_note = ui.label().classes("text-xs text-slate-500")
            with ui.element("td").classes(cell):
                self.price = ui.label("—").mark(f"price-{tid}")
            with ui.element("td").classes(cell):
                self.pnl = ui.label("—").mark(f"pnl-{tid}")
                self.pnl_pct = ui.label().classes("text-xs").mark(f"pnl-pct-{tid}")
            with ui.element("td").classes(cell):
                self.stop = ui.label().mark(f"stop-{tid}")
                self.stop_note = ui.label().classes("text-xs text-slate-500")
            with ui.element("td").classes(cell):
                self.targets = ui.column().classes("gap-0 text-xs").mark(f"targets-{tid}")
            with ui.element("td").classes(cell):
                self.opened = ui.label().mark(f"opened-{tid}")
            with ui.element("td").classes(cell):
                self.age = ui.label().mark(f"age-{tid}")
            with ui.element("td").classes(cell):
                ui.button("Close", on_click=lambda: board.ask_close(tid)).props(
                    "dense outline color=negative"
                ).mark(f"close-{tid}")
        self.update(trade)

    def update(self, trade: dict[str, Any]) -> None:
        """Show the trade as the API gave it now."""
        self.trade = trade
        tid = trade["id"]
        self.entry.text = trade.get("entry_price") or f"pending ({trade['status']})"
        self.quantity.text = trade["open_quantity"]
        self.quantity_note.text = (
            f"of {trade['quantity']}" if trade["open_quantity"] != trade["quantity"] else ""
        )
        stop = trade.get("tracked_stop") or trade["stop_loss"]
        self.set_stop(stop)
        self.opened.text = timefmt.when(trade["created_at"])
        self.targets.clear()
        with self.targets:
            levels = targets_of(trade, self.board.levels)
            for i, text in enumerate(levels, 1):
                ui.label(text).mark(f"target-{tid}-{i}")
            if not levels:
                ui.label("—")
        self.tick()
        self.mark_price(self.board.prices.get(trade["symbol"]))

    def set_stop(self, stop: str) -> None:
        """The stop in force (and where it started, once it has moved)."""
        self.stop.text = stop
        initial = self.trade.get("initial_stop")
        self.stop_note.text = f"from {initial}" if initial and initial != stop else ""

    def mark_price(self, price: Decimal | None) -> None:
        """Mark the open quantity at ``price``."""
        entry = decimal_or_none(self.trade.get("entry_price"))
        if price is None:
            return
        self.price.text = f"{price:f}"
        if entry is None or not entry:
            return
        qty = Decimal(self.trade["open_quantity"])
        pnl = unrealised(self.trade["side"], entry, price, qty)
        self.pnl.text = money(pnl)
        pct = pnl / (entry * qty) * 100 if qty else Decimal(0)
        self.pnl_pct.text = f"{pct:+.2f}%"
        colour = pnl_class(f"{pnl:f}")
        self.pnl.classes(replace=colour)
        self.pnl_pct.classes(replace=f"text-xs {colour}")

    def tick(self) -> None:
        """How long it has been open, as of now."""
        self.age.text = timefmt.since(self.trade["created_at"])


class PositionsBoard:
    """The open trades: a table kept in step with the API and the streams."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[int, PositionRow] = {}
        self.prices: dict[str, Decimal] = {}
        #: the client's take-profit levels (bot parameters)
        self.levels: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self.closing: int | None = None
        with ui.card().classes("w-full overflow-x-auto").mark("positions"):
            with ui.row().classes("w-full items-center"):
                ui.label("Open trades").classes("text-lg font-semibold")
                self.count = ui.label("").classes("text-slate-500").mark("positions-count")
                ui.space()
                self.error = ui.label("").classes("text-red-600").mark("positions-error")
            with ui.element("table").classes("w-full text-sm"):
                with ui.element("thead"), ui.element("tr").classes("text-left text-slate-500"):
                    for heading in HEADINGS:
                        with ui.element("th").classes("px-2 py-1 font-medium"):
                            ui.label(heading)
                self.body = ui.element("tbody").mark("positions-body")
            self.empty = ui.label("No open trades.").classes("text-slate-500").mark("no-positions")
            self.close_result = ui.label("").mark("close-result")
        self._dialog()

    def _dialog(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("gap-3").mark("close-dialog"):
            ui.label("Close this trade at the market?").classes("text-lg font-semibold")
            self.dialog_text = ui.label("").mark("close-what")
            self.dialog_refusal = (
                ui.label("").classes("text-red-600 whitespace-pre-wrap").mark("close-refusal")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Keep it open", on_click=self.dialog.close).props("flat").mark(
                    "close-cancel"
                )
                self.confirm = (
                    ui.button("Close trade", on_click=self.close_confirmed)
                    .props("color=negative")
                    .mark("close-confirm")
                )

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
        for row in self.rows.values():
            if row.trade["symbol"] == symbol:
                row.mark_price(price)

    def on_stop(self, event: Event) -> None:
        """``SLAdjusted``: the stop moved (trailing, break-even, by hand)."""
        row = self.rows.get(int(event.get("trade_id", 0)))
        if row is not None:
            row.trade = {**row.trade, "tracked_stop": event["new_stop"]}
            row.set_stop(str(event["new_stop"]))

    # -- closing ------------------------------------------------------------------------

    def ask_close(self, tid: int) -> None:
        """Ask before closing trade ``tid``."""
        self.closing = tid
        row = self.rows.get(tid)
        if row is None:
            self.dialog_text.text = f"Trade #{tid}"
        else:
            t = row.trade
            self.dialog_text.text = (
                f"Trade #{tid}: {t['side']} {t['open_quantity']} {t['symbol']} "
                f"(entry {t.get('entry_price') or 'pending'}, now {row.price.text})"
            )
        self.dialog_refusal.text = ""
        self.dialog.open()

    async def close_confirmed(self) -> None:
        """Close the trade the dialog asked about; a refusal stays in the dialog, verbatim."""
        tid = self.closing
        if tid is None:
            return
        self.confirm.disable()
        try:
            closed = await self.session.post("trade", f"/trades/{tid}/close")
        except ServiceError as e:
            self.dialog_refusal.text = e.message
            refusal(e)
            return
        finally:
            self.confirm.enable()
        self.closing = None
        self.dialog.close()
        self.drop(tid)
        self.close_result.text = (
            f"Trade #{tid} closed at {closed.get('exit_price')}: "
            f"realised P&L {money(closed.get('realized_pnl'))}"
        )
        self.close_result.classes(replace=pnl_class(closed.get("realized_pnl")))


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
            form = TradeForm(s, on_done=lambda: _after_change(board, risk))
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
        elif kind == "OrderRejected":
            ui.notify(f"{event['symbol']} {event['side']}: {event['detail']}", type="warning")
        elif kind == "DrawdownLimitReached":
            ui.notify(
                f"Drawdown {event['drawdown_percent']}% reached the limit "
                f"{event['limit_percent']}%: trading is blocked",
                type="negative",
            )
        await _after_change(board, risk)

    shared().market.for_page(board.on_market)
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
