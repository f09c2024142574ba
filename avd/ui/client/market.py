"""Being written."""

from __future__ import annotations

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.layout import frame


async def market_page() -> None:
    """Being written."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "market_page"):
        ui.label("being written")
