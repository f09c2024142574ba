"""The admin's actions on a client, each behind a confirmation: block, unblock, adjust, refund.

The Client service journals every one of them; a refusal is shown as the
service said it, next to the field it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui.admin.common import field_errors, show_error
from avd.ui.api import ServiceError
from avd.ui.layout import money

if TYPE_CHECKING:
    from avd.ui.session import Session

Done = Callable[[], Awaitable[None]]


class Actions:
    """Opens the confirmation dialogs of one page (one dialog at a time, in ``host``)."""

    def __init__(self, session: Session, done: Done) -> None:
        self.s = session
        self.done = done
        self.host = ui.element("div")

    def _dialog(self) -> ui.dialog:
        self.host.clear()
        with self.host:
            return ui.dialog()

    def block(self, client: dict[str, Any], blocked: bool) -> None:
        """Ask to block (or unblock) ``client``, with an optional reason."""
        verb = "Block" if blocked else "Unblock"
        dialog = self._dialog()
        with dialog, ui.card().classes("w-96 gap-3"):
            ui.label(f"{verb} {client['email']}?").classes("text-lg font-semibold")
            ui.label(
                "Their sessions end at once and they cannot log in until unblocked."
                if blocked
                else "They can log in and trade again."
            ).classes("text-slate-600")
            reason = ui.input("Reason (optional)").classes("w-full").mark("block-reason")
            error = ui.label().classes("text-red-600").mark("action-error")

            async def confirm() -> None:
                body = {"reason": reason.value.strip()} if reason.value.strip() else None
                path = f"/admin/clients/{client['id']}/{verb.lower()}"
                try:
                    await self.s.post("client", path, body)
                except ServiceError as e:
                    error.text = e.message
                    return
                dialog.close()
                ui.notify(f"{client['email']} {verb.lower()}ed", type="positive")
                await self.done()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button(verb, on_click=confirm).props(
                    "color=negative" if blocked else "color=primary"
                ).mark("confirm")
        dialog.open()

    def adjust(self, client: dict[str, Any], kind: str = "adjustment") -> None:
        """Ask for a balance adjustment or a refund: amount and a reason, both required."""
        dialog = self._dialog()
        with dialog, ui.card().classes("w-[28rem] gap-3"):
            ui.label(f"Balance of {client['email']}").classes("text-lg font-semibold")
            ui.label(f"Now {money(client.get('balance'))} USDT").mark("adjust-balance")
            what = (
                ui.select(
                    {"adjustment": "Adjustment", "refund": "Refund"}, value=kind, label="Kind"
                )
                .classes("w-full")
                .mark("adj-kind")
            )
            amount = (
                ui.input("Amount (USDT)", placeholder="25.00 to credit, -25.00 to debit")
                .props("inputmode=decimal")
                .classes("w-full")
                .mark("adj-amount")
            )
            reason = ui.input("Reason").classes("w-full").mark("adj-reason")
            ui.label("A refund credits the client; the reason is kept in the journal.").classes(
                "text-xs text-slate-500"
            )
            error = ui.label().classes("text-red-600").mark("action-error")
            fields: dict[str, ui.input | ui.select] = {
                "amount": amount,
                "reason": reason,
                "kind": what,
            }

            async def confirm() -> None:
                for f in fields.values():
                    show_error(f, None)
                error.text = ""
                body = {"kind": what.value, "amount": amount.value.strip(), "reason": reason.value}
                try:
                    entry = await self.s.post(
                        "client", f"/admin/clients/{client['id']}/adjustments", body
                    )
                except ServiceError as e:
                    by_field, rest = field_errors(e, tuple(fields))
                    for name, why in by_field.items():
                        show_error(fields[name], why)
                    error.text = "; ".join(rest) if rest else e.message
                    return
                dialog.close()
                ui.notify(
                    f"{what.value} of {money(entry['amount'])} USDT applied: "
                    f"balance {money(entry['balance'])} USDT",
                    type="positive",
                )
                await self.done()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Apply", on_click=confirm).mark("confirm")
        dialog.open()
