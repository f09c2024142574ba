"""Being written."""

from __future__ import annotations

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.layout import frame


async def clients_page() -> None:
    """Being written."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "clients_page"):
        ui.label("being written")


async def client_page(client_id: int) -> None:
    """Being written."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "client_page"):
        ui.label("being written")
