"""The Positions page's confirmations: close a trade, move its stop.

Each asks first and then calls the Trade service as the user; a refusal
stays in the dialog, worded as the service worded it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui.api import ServiceError
from avd.ui.layout import refusal

if TYPE_CHECKING:
    from avd.ui.session import Session

#: what a dialog calls once the service took the change (the trade as it answered)
Done = Callable[[int, dict[str, Any]], Awaitable[None] | None]


class CloseDialog:
    """Ask "close this trade at the market?", then ``POST /trades/{id}/close``."""

    def __init__(self, session: Session, on_closed: Done) -> None:
        self.session = session
        self.on_closed = on_closed
        self.trade_id: int | None = None
        with ui.dialog() as self.dialog, ui.card().classes("gap-3").mark("close-dialog"):
            ui.label("Close this trade at the market?").classes("text-lg font-semibold")
            self.what = ui.label("").mark("close-what")
            self.refusal = (
                ui.label("").classes("text-red-600 whitespace-pre-wrap").mark("close-refusal")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Keep it open", on_click=self.dialog.close).props("flat").mark(
                    "close-cancel"
                )
                self.confirm = (
                    ui.button("Close trade", on_click=self.confirmed)
                    .props("color=negative")
                    .mark("close-confirm")
                )

    def ask(self, trade_id: int, what: str) -> None:
        """Ask about trade ``trade_id`` (described by ``what``)."""
        self.trade_id = trade_id
        self.what.text = what
        self.refusal.text = ""
        self.dialog.open()

    async def confirmed(self) -> None:
        """Close the trade asked about."""
        tid = self.trade_id
        if tid is None:
            return
        self.confirm.disable()
        try:
            closed = await self.session.post("trade", f"/trades/{tid}/close")
        except ServiceError as e:
            self.refusal.text = e.message
            refusal(e)
            return
        finally:
            self.confirm.enable()
        self.trade_id = None
        self.dialog.close()
        result = self.on_closed(tid, closed)
        if result is not None:
            await result


class StopDialog:
    """Ask for a new stop price, then ``PATCH /trades/{id}`` (only a tighter one passes)."""

    def __init__(self, session: Session, on_moved: Done) -> None:
        self.session = session
        self.on_moved = on_moved
        self.trade_id: int | None = None
        with ui.dialog() as self.dialog, ui.card().classes("gap-3 w-96").mark("stop-dialog"):
            ui.label("Move the stop").classes("text-lg font-semibold")
            self.what = ui.label("").mark("stop-what")
            self.price = (
                ui.input("New stop price").props("inputmode=decimal").classes("w-full")
            ).mark("stop-price")
            self.refusal = (
                ui.label("").classes("text-red-600 whitespace-pre-wrap").mark("stop-refusal")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat").mark("stop-cancel")
                self.confirm = ui.button("Move stop", on_click=self.confirmed).mark("stop-confirm")

    def ask(self, trade_id: int, what: str, current: str) -> None:
        """Ask where to move the stop of ``trade_id`` (now at ``current``)."""
        self.trade_id = trade_id
        self.what.text = what
        self.price.value = current
        self.refusal.text = ""
        self.dialog.open()

    async def confirmed(self) -> None:
        """Send the new stop."""
        tid = self.trade_id
        if tid is None:
            return
        self.confirm.disable()
        try:
            trade = await self.session.patch(
                "trade", f"/trades/{tid}", {"stop_loss": (self.price.value or "").strip()}
            )
        except ServiceError as e:
            self.refusal.text = e.message
            return
        finally:
            self.confirm.enable()
        self.trade_id = None
        self.dialog.close()
        result = self.on_moved(tid, trade)
        if result is not None:
            await result
