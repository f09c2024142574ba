"""The new-trade form: symbol, side, quote amount, stop; ``POST /trades/execute``.

The Trade service decides everything (sizing, the risk limits, the
exchange's filters): the form sends what the user typed, as decimal
strings, and shows a refusal exactly as the service worded it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui.api import ServiceError

if TYPE_CHECKING:
    from avd.ui.session import Session

SIDES = ("BUY", "SELL")


def order_body(symbol: str, side: str, amount: str, stop: str, trailing: str) -> dict[str, Any]:
    """The ``/trades/execute`` body: only the fields the user filled in."""
    body: dict[str, Any] = {"symbol": symbol, "side": side, "type": "MARKET"}
    if amount:
        body["quote_amount"] = amount
    if side == "BUY":  # a SELL sells a holding, which keeps its own stop
        if stop:
            body["stop_loss"] = stop
        if trailing:
            body["trailing_percent"] = trailing
    return body


class TradeForm:
    """A market order for one symbol, placed as the user."""

    def __init__(
        self,
        session: Session,
        on_done: Callable[[], Awaitable[None]],
        prices: Mapping[str, Decimal],
    ) -> None:
        self.session = session
        self.on_done = on_done
        self.prices = prices
        with ui.card().classes("w-full max-w-md gap-2").mark("trade-form"):
            ui.label("New trade").classes("text-lg font-semibold")
            self.symbol = (
                ui.select([], label="Symbol", with_input=True)
                .classes("w-full")
                .mark("trade-symbol")
            )
            self.last = ui.label("").classes("text-xs text-slate-500").mark("trade-last-price")
            self.side = ui.toggle(list(SIDES), value="BUY").mark("trade-side")
            self.amount = (
                ui.input("Quote amount (USDT)", placeholder="100")
                .props("inputmode=decimal")
                .classes("w-full")
                .mark("trade-amount")
            )
            self.stop = (
                ui.input("Stop price (optional)", placeholder="your bot's stop rule if empty")
                .props("inputmode=decimal")
                .classes("w-full")
                .mark("trade-stop")
            )
            self.trailing = (
                ui.input("Trailing stop % (optional)", placeholder="e.g. 1.5")
                .props("inputmode=decimal")
                .classes("w-full")
                .mark("trade-trailing")
            )
            self.hint = ui.label("").classes("text-xs text-slate-500")
            self.submit = ui.button("Place trade", on_click=self.place).mark("trade-submit")
            self.refusal = (
                ui.label("").classes("text-red-600 whitespace-pre-wrap").mark("trade-refusal")
            )
            self.numbers = ui.label("").classes("text-xs text-red-500").mark("trade-numbers")
            self.placed = ui.label("").classes("text-green-700").mark("trade-placed")
        self.side.on_value_change(self._side_changed)
        self.symbol.on_value_change(self.show_price)
        self._side_changed()

    def show_price(self) -> None:
        """The chosen symbol's latest price, under it."""
        price = self.prices.get(str(self.symbol.value))
        self.last.text = "" if price is None else f"last price {price.normalize():f}"

    def offer(self, symbols: list[str]) -> None:
        """The symbols the market tracks (the first one chosen)."""
        self.symbol.set_options(
            symbols, value=self.symbol.value or (symbols[0] if symbols else None)
        )

    def _side_changed(self) -> None:
        buy = self.side.value == "BUY"
        self.stop.set_visibility(buy)
        self.trailing.set_visibility(buy)
        self.hint.text = (
            "Buys at the market for the quote amount; the risk manager checks it first."
            if buy
            else "Sells what you hold in the symbol, oldest first; empty amount: all of it."
        )

    def _clear_messages(self) -> None:
        self.refusal.text = self.numbers.text = self.placed.text = ""

    async def place(self) -> None:
        """Send the order; show what the Trade service answered."""
        self._clear_messages()
        if not self.symbol.value:
            self.refusal.text = "Choose a symbol."
            return
        body = order_body(
            str(self.symbol.value),
            str(self.side.value),
            (self.amount.value or "").strip(),
            (self.stop.value or "").strip(),
            (self.trailing.value or "").strip(),
        )
        self.submit.disable()
        try:
            answer = await self.session.post("trade", "/trades/execute", body)
        except ServiceError as e:
            self.refusal.text = e.message
            self.numbers.text = "  ·  ".join(f"{k}: {v}" for k, v in e.numbers.items())
            return
        finally:
            self.submit.enable()
        if "trades" in answer:  # a SELL: the holdings it reduced or closed
            self.placed.text = f"Sold {answer['quantity']} {answer['symbol']}"
        else:
            price = answer.get("entry_price") or "pending"
            self.placed.text = (
                f"Trade #{answer['id']} {answer['status']}: {answer['side']} "
                f"{answer['quantity']} {answer['symbol']} at {price}"
            )
        await self.on_done()
