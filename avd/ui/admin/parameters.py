"""``/admin/settings``: the platform's global parameters (fees, minimum balance, registration)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from avd.ui.admin.common import JOURNAL, admin_session, field_errors, show_error
from avd.ui.api import ServiceError
from avd.ui.layout import frame
from avd.ui.session import Session

FIELDS = ("fee_mode", "fee_percent", "min_balance_to_trade", "registration_open")


async def parameters_page() -> None:
    """The global parameters as a form, saved whole; the service's refusals under the fields."""
    s = admin_session()
    if s is None:
        return
    with frame(s, "Parameters", admin=True):
        try:
            current = await s.get("client", "/admin/parameters")
        except ServiceError as e:
            ui.label(e.message).classes("text-red-600").mark("error")
            return
        _Form(s, current)


class _Form:
    def __init__(self, s: Session, current: dict[str, Any]) -> None:
        self.s = s
        with ui.card().classes("w-[36rem] gap-4"):
            ui.label("Platform fee").classes("text-lg font-semibold")
            self.fee_mode = (
                ui.select(
                    {"notional": "Percent of the notional", "profit": "Percent of the profit"},
                    value=current["fee_mode"],
                    label="Fee mode",
                )
                .classes("w-full")
                .mark("fee_mode")
            )
            self.fee_percent = (
                ui.input("Fee percent", value=current["fee_percent"])
                .props("inputmode=decimal suffix=%")
                .classes("w-full")
                .mark("fee_percent")
            )
            ui.label("Charged on every closed trade from the client's prepaid balance.").classes(
                "text-xs text-slate-500"
            )
            self.min_balance = (
                ui.input("Minimum balance to trade", value=current["min_balance_to_trade"])
                .props("inputmode=decimal suffix=USDT")
                .classes("w-full")
                .mark("min_balance_to_trade")
            )
            ui.label("A client at or below it cannot open a trade.").classes(
                "text-xs text-slate-500"
            )
            ui.separator()
            self.registration = ui.switch(
                "Registration open", value=bool(current["registration_open"])
            ).mark("registration_open")
            self.error = ui.label().classes("text-red-600").mark("error")
            with ui.row().classes("w-full items-center"):
                ui.link("Changes are journaled", f"{JOURNAL}?action=global_parameters_changed")
                ui.space()
                ui.button("Save", icon="save", on_click=self.save).mark("save")

    @property
    def _inputs(self) -> dict[str, ui.input | ui.select]:
        return {
            "fee_mode": self.fee_mode,
            "fee_percent": self.fee_percent,
            "min_balance_to_trade": self.min_balance,
        }

    async def save(self) -> None:
        """``PUT`` the whole set; show what the service refused, field by field."""
        for f in self._inputs.values():
            show_error(f, None)
        self.error.text = ""
        body = {
            "fee_mode": self.fee_mode.value,
            "fee_percent": (self.fee_percent.value or "").strip(),
            "min_balance_to_trade": (self.min_balance.value or "").strip(),
            "registration_open": bool(self.registration.value),
        }
        try:
            saved = await self.s.put("client", "/admin/parameters", body)
        except ServiceError as e:
            by_field, rest = field_errors(e, FIELDS)
            for name, why in by_field.items():
                if name in self._inputs:
                    show_error(self._inputs[name], why)
                else:
                    rest.append(f"{name}: {why}")
            self.error.text = "; ".join(rest)
            return
        self.fee_mode.value = saved["fee_mode"]
        self.fee_percent.value = saved["fee_percent"]
        self.min_balance.value = saved["min_balance_to_trade"]
        self.registration.value = saved["registration_open"]
        ui.notify("Global parameters saved", type="positive")
