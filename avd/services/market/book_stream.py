"""The websocket connection of the order-book and trade streams.

One python-binance ``multiplex_socket`` carries ``<symbol>@depth@100ms`` and
``<symbol>@aggTrade`` of every kept symbol; each event goes to the
:class:`~avd.services.market.book_keeper.BookKeeper`. The connection is kept
open by :class:`StreamConnection` (silence, renewal before the 24-hour cut,
python-binance's error dicts); whenever events may have been missed, every
book resyncs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avd.services.market.book_keeper import BookKeeper
from avd.services.market.collector_state import ConnectionHealth
from avd.services.market.settings import CollectorSettings
from avd.services.market.stream_connection import StreamConnection


class BookConnection(StreamConnection):
    """Reads the book streams into a :class:`BookKeeper`, reopening until stopped."""

    def __init__(
        self,
        keeper: BookKeeper,
        settings: CollectorSettings,
        socket_manager: Callable[[], Any],
    ) -> None:
        super().__init__(ConnectionHealth(keeper.streams()), settings, socket_manager)
        self.keeper = keeper

    async def on_data(self, data: dict[str, Any]) -> None:
        """A depth or trade event to the book keeper."""
        self.keeper.on_message(data)

    async def lost(self) -> None:
        """Events were missed: every book resyncs from the next events."""
        self.keeper.reset_all()
