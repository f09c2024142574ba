"""``/keys``: the client's Binance API keys (add, remove); only the last four characters shown.

The key and the secret go to the Client service once, which stores them
encrypted and never gives them back: the page clears its inputs as soon as
the service has them, so neither stays in the page.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.layout import frame, refusal
from avd.ui.session import Session

MASK = "••••"


def masked(last4: str) -> str:
    """A credential as the page shows it: its last four characters."""
    return f"{MASK}{last4}"


class KeysPage:
    """The list of key pairs, the add form and the remove confirmation."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.keys: list[dict[str, Any]] = []
        self.doomed: dict[str, Any] | None = None

    def build(self) -> None:
        """Lay the page out."""
        ui.label(
            "The Binance API keys your bot uses in live mode. They are stored encrypted; only "
            "their last four characters are ever shown. Give a key spot-trading permission only, "
            "never withdrawals."
        ).classes("text-slate-500")
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.card().classes("flex-[2] min-w-96 gap-2"):
                ui.label("Your keys").classes("text-lg font-semibold")
                self.error = ui.label().classes("text-red-600")
                self.list = ui.column().classes("w-full gap-2").mark("key-list")
            self._add_form()
        with ui.dialog() as self.confirm, ui.card().classes("w-96 gap-3").mark("remove-dialog"):
            ui.label("Remove this key?").classes("text-lg font-semibold")
            self.confirm_text = ui.label()
            with ui.row().classes("w-full justify-end"):
                ui.button("Keep it", on_click=self.confirm.close).props("flat").mark("remove-keep")
                ui.button("Remove", on_click=self.remove).props("color=negative").mark(
                    "remove-confirm"
                )

    def _add_form(self) -> None:
        with ui.card().classes("flex-1 min-w-80 gap-2").mark("key-form"):
            ui.label("Add a key").classes("text-lg font-semibold")
            self.label = ui.input("Label", value="binance").classes("w-full").mark("key-label")
            self.api_key = (
                ui.input("API key")
                .props("autocomplete=off spellcheck=false")
                .classes("w-full")
                .mark("key-api-key")
            )
            self.api_secret = (
                ui.input("API secret", password=True)
                .props("autocomplete=new-password spellcheck=false")
                .classes("w-full")
                .mark("key-api-secret")
            )
            self.form_error = ui.label().classes("text-red-600").mark("key-error")
            ui.button("Add the key", icon="key", on_click=self.add).mark("key-add")

    async def load(self) -> None:
        """Read the key pairs and list them."""
        try:
            got = await self.s.get("client", "/client/api-keys")
        except ServiceError as e:
            self.error.text = e.message
            return
        self.error.text = ""
        self.keys = got["keys"]
        self.list.clear()
        with self.list:
            if not self.keys:
                ui.label("No key yet: the bot trades on paper until you add one.").classes(
                    "text-slate-500"
                )
            for key in self.keys:
                self._row(key)

    def _row(self, key: dict[str, Any]) -> None:
        with (
            ui.row()
            .classes("w-full items-center gap-4 border rounded p-2")
            .mark(f"key-{key['id']}")
        ):
            ui.icon("key").classes("text-slate-500")
            with ui.column().classes("gap-0"):
                ui.label(key["label"]).classes("font-semibold")
                ui.label(
                    f"key {masked(key['api_key_last4'])} · secret {masked(key['api_secret_last4'])}"
                ).classes("font-mono text-sm")
                ui.label(f"added {str(key['created_at']).replace('T', ' ')[:16]} UTC").classes(
                    "text-xs text-slate-500"
                )
            ui.space()
            ui.button(icon="delete", on_click=lambda k=key: self.ask_remove(k)).props(
                "flat round color=negative"
            ).mark(f"remove-{key['id']}").tooltip("Remove")

    async def add(self) -> None:
        """Send the pair to the service; once it has it, the inputs forget it."""
        body = {
            "label": (self.label.value or "").strip() or "binance",
            "api_key": (self.api_key.value or "").strip(),
            "api_secret": (self.api_secret.value or "").strip(),
        }
        fields = {"label": self.label, "api_key": self.api_key, "api_secret": self.api_secret}
        for element in fields.values():
            element.error = None
        self.form_error.text = ""
        try:
            added = await self.s.post("client", "/client/api-keys", body)
        except ServiceError as e:
            # name the field, never echo the value (a pattern message does not contain it)
            placed = False
            for part in e.detail.split("; "):
                name, sep, message = part.partition(": ")
                if sep and name in fields:
                    fields[name].error = message
                    placed = True
            if not placed:
                self.form_error.text = e.message
                refusal(e)
            return
        self.api_key.value = ""
        self.api_secret.value = ""
        ui.notify(f"Key {masked(added['api_key_last4'])} added.", type="positive")
        await self.load()

    def ask_remove(self, key: dict[str, Any]) -> None:
        """Ask before removing ``key``."""
        self.doomed = key
        self.confirm_text.text = (
            f"“{key['label']}” (key {masked(key['api_key_last4'])}) will be deleted. "
            "Live trading needs a key: with none left, switch the bot to paper."
        )
        self.confirm.open()

    async def remove(self) -> None:
        """Remove the key the dialog asked about."""
        key, self.doomed = self.doomed, None
        self.confirm.close()
        if key is None:
            return
        try:
            await self.s.delete("client", f"/client/api-keys/{int(key['id'])}")
        except ServiceError as e:
            refusal(e)
        else:
            ui.notify(f"Key {masked(key['api_key_last4'])} removed.")
        await self.load()


async def keys_page() -> None:
    """List, add and remove the client's exchange API keys."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "Keys"):
        page = KeysPage(s)
        page.build()
    await page.load()
