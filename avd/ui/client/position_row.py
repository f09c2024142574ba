"""One open trade in the Positions table: its cells, its live price, P&L and stop."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from nicegui import ui

from avd.ui.client import timefmt
from avd.ui.layout import money, pnl_class


class RowHost(Protocol):
    """What a row needs from the table holding it."""

    #: the client's take-profit levels (bot parameters)
    levels: list[dict[str, Any]]
    #: the latest price of each symbol
    prices: dict[str, Decimal]

    def ask_close(self, tid: int) -> None:
        """Ask before closing trade ``tid``."""

    def ask_stop(self, tid: int) -> None:
        """Ask where to move the stop of trade ``tid``."""


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

    def __init__(self, board: RowHost, trade: dict[str, Any]) -> None:
        self.board = board
        self.trade = trade
        #: the unrealised P&L at the last price (None before a price is known)
        self.pnl_value: Decimal | None = None
        tid = trade["id"]
        cell = "px-2 py-1 align-top whitespace-nowrap"
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
                with ui.row().classes("items-center gap-1 no-wrap"):
                    self.stop = ui.label().mark(f"stop-{tid}")
                    ui.button(icon="edit", on_click=lambda: board.ask_stop(tid)).props(
                        "flat dense round size=xs"
                    ).tooltip("Move the stop").mark(f"move-stop-{tid}")
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
        self.price.text = f"{price.normalize():f}"
        if entry is None or not entry:
            return
        qty = Decimal(self.trade["open_quantity"])
        pnl = unrealised(self.trade["side"], entry, price, qty)
        self.pnl_value = pnl
        self.pnl.text = money(pnl)
        pct = pnl / (entry * qty) * 100 if qty else Decimal(0)
        self.pnl_pct.text = f"{pct:+.2f}%"
        colour = pnl_class(f"{pnl:f}")
        self.pnl.classes(replace=colour)
        self.pnl_pct.classes(replace=f"text-xs {colour}")

    def tick(self) -> None:
        """How long it has been open, as of now."""
        self.age.text = timefmt.since(self.trade["created_at"])
