"""What every admin page shares: the admins-only guard, dates, a service's field errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui import layout
from avd.ui import session as sessions
from avd.ui.client import timefmt

if TYPE_CHECKING:
    from avd.ui.api import ServiceError
    from avd.ui.session import Session

#: where the admin pages are (``/admin/journal`` and ``/admin/parameters`` are the
#: Client service's REST routes, which answer first on the one port of ``avd run``)
CLIENTS = "/admin"
JOURNAL = "/admin/audit"
PARAMETERS = "/admin/settings"
HEALTH = "/admin/health"


def client_url(client_id: int | str) -> str:
    """The admin page of one client."""
    return f"/admin/client/{client_id}"


def admin_session() -> Session | None:
    """The admin's session; ``None`` after sending a stranger to log in or showing "admins only"."""
    s = sessions.require(admin=True)
    if s is None and sessions.current().logged_in:
        layout.admins_only()
    return s


def when(value: Any) -> str:
    """An API timestamp (ISO 8601) as ``YYYY-MM-DD HH:MM:SS UTC``."""
    try:
        text = timefmt.when(str(value) if value else None)
    except ValueError:
        return str(value)
    return text if text == "—" else f"{text} UTC"


def field_errors(e: ServiceError, fields: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """A 422's ``detail`` split by field (``"field: why; other: why"``), and what names none."""
    by_field: dict[str, list[str]] = {}
    rest: list[str] = []
    for part in (e.detail or e.error).split("; "):
        name, sep, why = part.partition(": ")
        top = name.split(".")[0]
        if sep and top in fields:
            by_field.setdefault(top, []).append(why if "." not in name else f"{name}: {why}")
        else:
            rest.append(part)
    return {k: "; ".join(v) for k, v in by_field.items()}, rest


def show_error(element: ui.input | ui.select, message: str | None) -> None:
    """Put ``message`` under a field (Quasar's error slot), or clear it."""
    element.error = message or None


def stat(label: str, value: str, *, mark: str, classes: str = "") -> None:
    """One figure of a summary row: a small caption over a big value."""
    with ui.card().classes("min-w-36 gap-0 p-3"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value).classes(f"text-xl font-semibold {classes}").mark(mark)
