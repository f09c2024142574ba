"""Being written."""

from __future__ import annotations

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.layout import frame


async def symbol_page(symbol: str) -> None:
    """Being written."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "symbol_page"):
        ui.label("being written")
