"""``/admin/audit``: the audit journal, filtered by client, action and date (UTC days)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nicegui import ui

from avd.ui.admin.common import admin_session, show_error, when
from avd.ui.api import ServiceError
from avd.ui.layout import frame
from avd.ui.session import Session

#: entries per page (the Client service pages the journal, newest first)
PAGE_SIZE = 100
#: what the Client service journals (a filter on another action is typed in)
ACTIONS = (
    "account_locked",
    "admin_created",
    "api_key_added",
    "api_key_deleted",
    "client_blocked",
    "client_unblocked",
    "deposit_settled",
    "global_parameters_changed",
    "keys_rotated",
    "ledger_adjustment",
    "login",
    "login_failed",
    "login_refused",
    "logout",
    "parameters_changed",
    "recovery_code_used",
    "recovery_codes_renewed",
    "refresh_reuse",
    "register",
    "totp_disabled",
    "totp_enabled",
    "totp_enrolment_started",
)
COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "#", "field": "id", "align": "left"},
    {"name": "at", "label": "When", "field": "at", "align": "left", "sortable": True},
    {"name": "action", "label": "Action", "field": "action", "align": "left", "sortable": True},
    {"name": "actor", "label": "By", "field": "actor", "align": "left"},
    {"name": "subject", "label": "Client", "field": "subject", "align": "left"},
    {"name": "ip", "label": "Address", "field": "ip", "align": "left"},
    {"name": "detail", "label": "Detail", "field": "detail", "align": "left"},
]


def journal_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal entries as table rows (the detail as ``key: value`` pairs)."""
    return [
        {
            "id": e["id"],
            "at": when(e["at"]),
            "action": e["action"],
            "actor": "—" if e["actor_id"] is None else f"#{e['actor_id']}",
            "subject": "—" if e["subject_id"] is None else f"#{e['subject_id']}",
            "ip": e["ip"] or "—",
            "detail": ", ".join(
                f"{k}: {v if isinstance(v, str) else json.dumps(v)}"
                for k, v in e["detail"].items()
                if v is not None
            ),
        }
        for e in entries
    ]


def _day(text: str) -> date | None:
    """``YYYY-MM-DD`` (empty: no bound); a ValueError says what is wrong."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("a date as YYYY-MM-DD") from None


async def journal_page(subject: str = "", action: str = "") -> None:
    """The journal, newest first, with its filters (``?subject=`` and ``?action=`` preset them)."""
    s = admin_session()
    if s is None:
        return
    with frame(s, "Journal", admin=True):
        await _Journal(s, subject, action).build()


class _Journal:
    def __init__(self, s: Session, client: str, action: str) -> None:
        self.s = s
        self.offset = 0
        self.client0 = client
        self.action0 = action

    async def build(self) -> None:
        with ui.row().classes("w-full items-start gap-3"):
            self.client = (
                ui.input("Client", value=self.client0, placeholder="id or email")
                .classes("w-56")
                .mark("filter-client")
            )
            options = sorted({*ACTIONS, self.action0} - {""})
            self.action = (
                ui.select(
                    options,
                    value=self.action0 or None,
                    label="Action",
                    with_input=True,
                    clearable=True,
                )
                .classes("w-64")
                .mark("filter-action")
            )
            self.since = (
                ui.input("From (UTC)", placeholder="YYYY-MM-DD").classes("w-40").mark("since")
            )
            self.until = (
                ui.input("To (UTC, included)", placeholder="YYYY-MM-DD")
                .classes("w-40")
                .mark("until")
            )
            ui.button("Filter", icon="filter_alt", on_click=self.apply).mark("apply")
            ui.button("Clear", on_click=self.reset).props("flat")
            ui.space()
            self.prev = ui.button("Newer", on_click=lambda: self.turn(-1)).props("flat")
            self.next = ui.button("Older", on_click=lambda: self.turn(1)).props("flat")
        self.error = ui.label().classes("text-red-600").mark("error")
        self.table = (
            ui.table(columns=COLUMNS, rows=[], row_key="id")
            .classes("w-full")
            .props("flat dense")
            .mark("journal")
        )
        self.table.add_slot(
            "no-data", '<div class="p-4 text-slate-500">No entry matches these filters.</div>'
        )
        await self.load()

    async def apply(self) -> None:
        self.offset = 0
        await self.load()

    async def reset(self) -> None:
        self.client.value = ""
        self.action.value = None
        self.since.value = self.until.value = ""
        await self.apply()

    async def turn(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * PAGE_SIZE)
        await self.load()

    async def _params(self) -> dict[str, Any] | None:
        """The query for the Client service, or ``None`` after showing what is wrong."""
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": self.offset}
        ok = True
        for field, key, shift in ((self.since, "since", 0), (self.until, "until", 1)):
            try:
                day = _day(field.value or "")
            except ValueError as e:
                show_error(field, str(e))
                ok = False
                continue
            show_error(field, None)
            if day is not None:
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                params[key] = (start + timedelta(days=shift)).isoformat()
        who = (self.client.value or "").strip()
        show_error(self.client, None)
        if who.isdigit():
            params["subject_id"] = int(who)
        elif who:
            try:
                found = await self.s.get("client", "/admin/clients", email=who, limit=2)
            except ServiceError as e:
                show_error(self.client, e.message)
                return None
            exact = [c for c in found["clients"] if c["email"] == who.lower()]
            match = exact or found["clients"]
            if len(match) != 1:
                show_error(
                    self.client, "no client with this email" if not match else "several match"
                )
                return None
            params["subject_id"] = match[0]["id"]
        if self.action.value:
            params["action"] = self.action.value
        return params if ok else None

    async def load(self) -> None:
        params = await self._params()
        if params is None:
            return
        try:
            page = await self.s.get("client", "/admin/journal", **params)
        except ServiceError as e:
            self.error.text = e.message
            return
        self.error.text = ""
        entries = page["entries"]
        self.table.rows = journal_rows(entries)
        self.table.update()
        self.prev.set_enabled(self.offset > 0)
        self.next.set_enabled(len(entries) == PAGE_SIZE)
