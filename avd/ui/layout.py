"""The frame around every page: header, navigation, the user, log out; shared widgets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nicegui import ui

from avd.ui.api import ServiceError

if TYPE_CHECKING:
    from avd.ui.session import Session

#: the client dashboard's sections, in the order of the navigation bar
CLIENT_NAV = (
    ("Market", "/"),
    ("Positions", "/positions"),
    ("History", "/history"),
    ("Funds", "/funds"),
    ("Bot", "/bot"),
    ("Keys", "/keys"),
    ("Security", "/security"),
)
ADMIN_NAV = (
    ("Clients", "/admin"),
    ("Journal", "/admin/audit"),
    ("Parameters", "/admin/settings"),
    ("Health", "/admin/health"),
)

UP = "#16a34a"  # green-600: up candles, profits
DOWN = "#dc2626"  # red-600: down candles, losses


@contextlib.contextmanager
def frame(session: Session, title: str, *, admin: bool = False) -> Iterator[None]:
    """The page's header and navigation; the body goes inside the ``with``."""
    ui.page_title(f"{title} · AVD")
    with ui.header(elevated=True).classes("items-center gap-4 bg-slate-900 px-4 py-2"):
        ui.link("AVD", "/").classes("text-xl font-bold text-white no-underline")
        for name, path in ADMIN_NAV if admin else CLIENT_NAV:
            link = ui.link(name, path).classes("text-white no-underline")
            if name == title:
                link.classes("font-bold underline")
        ui.space()
        if session.is_admin:
            ui.link("Client view" if admin else "Admin", "/" if admin else "/admin").classes(
                "text-amber-300 no-underline"
            )
        ui.label(session.user.get("email", "")).classes("text-slate-300")
        ui.button("Log out", on_click=lambda: ui.navigate.to("/logout")).props("flat color=white")
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-4 gap-4"):
        ui.label(title).classes("text-2xl font-semibold")
        yield


def admins_only() -> None:
    """What a non-admin sees at an admin page: nothing of the admin's data."""
    ui.page_title("Admins only · AVD")
    with ui.column().classes("w-full items-center p-16 gap-4"):
        ui.label("Admins only").classes("text-3xl font-semibold")
        ui.label("This page is for the platform's administrators.")
        ui.link("Back to your dashboard", "/")


def refusal(e: ServiceError) -> None:
    """Tell the user what a service refused, verbatim."""
    ui.notify(e.message, type="negative", multi_line=True)


def money(value: object, places: int = 2) -> str:
    """A decimal string from the API, shown with ``places`` decimals (never through float)."""
    from decimal import Decimal, InvalidOperation

    if value is None:
        return "—"
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{d:,.{places}f}"


def pnl_class(value: object) -> str:
    """Tailwind text colour for a profit or a loss."""
    text = str(value or "0")
    if text.startswith("-"):
        return "text-red-600"
    return "text-green-600" if text.strip("0.") else ""
