"""The websocket connection of the order-book and trade streams.

One python-binance ``multiplex_socket`` carries ``<symbol>@depth@100ms`` and
``<symbol>@aggTrade`` of every kept symbol; each event goes to the
:class:`~avd.services.market.book_keeper.BookKeeper`. The connection is
replaced when silent for ``silence_timeout_s`` or after a failure, and every
book then resyncs (events were missed); python-binance's error dicts (it
reconnects by itself) make the books resync too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from avd.services.market.book_keeper import BookKeeper
from avd.services.market.collector_state import ConnectionHealth
from avd.services.market.kline_stream import _close_socket
from avd.services.market.settings import CollectorSettings

log = logging.getLogger("avd.services.market.collector")


class BookConnection:
    """Reads the book streams into a :class:`BookKeeper`, reopening until stopped."""

    def __init__(
        self,
        keeper: BookKeeper,
        settings: CollectorSettings,
        socket_manager: Callable[[], Any],
    ) -> None:
        self.keeper = keeper
        self.settings = settings
        self._socket_manager = socket_manager
        self.health = ConnectionHealth(keeper.streams())
        self.running = True
        self.closing: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        """Read the connection, reopening it after each failure, while running."""
        health = self.health
        while self.running:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                health.errors = [*health.errors, f"{type(exc).__name__}: {exc}"][-10:]
                log.warning("book stream failed (%s); reconnecting", exc)
            health.connected = False
            health.reconnects += 1
            self.keeper.reset_all()
            await asyncio.sleep(self.settings.reconnect_delay_s)

    async def _read(self) -> None:
        health = self.health
        sock = self._socket_manager().multiplex_socket(health.streams)
        await sock.__aenter__()
        try:
            health.connected = True
            health.connects += 1
            while self.running:
                try:
                    async with asyncio.timeout(self.settings.silence_timeout_s):
                        msg = await sock.recv()
                except TimeoutError:
                    log.warning(
                        "book streams silent for %.0fs; reconnecting",
                        self.settings.silence_timeout_s,
                    )
                    return
                if not isinstance(msg, dict):
                    continue
                if msg.get("e") == "error":
                    health.errors = [*health.errors, f"{msg.get('type')}: {msg.get('m')}"][-10:]
                    self.keeper.reset_all()
                    continue
                data = msg.get("data", msg)
                health.last_message_at = time.time()
                event_time = data.get("E")
                if event_time:
                    health.last_event_time = int(event_time)
                    health.lag_ms = health.last_message_at * 1000 - int(event_time)
                self.keeper.on_message(data)
        finally:
            health.connected = False
            task = asyncio.create_task(_close_socket(sock))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)
