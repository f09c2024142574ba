"""One python-binance websocket connection, read and reopened until stopped.

A :class:`StreamConnection` carries ``health.streams`` on one
``multiplex_socket``. It is replaced when silent for ``silence_timeout_s``,
renewed after ``renew_after_s`` (before Binance's 24-hour cut), and reopened
``reconnect_delay_s`` after a failure. python-binance reconnects a dropped
socket by itself and reports it with error dicts (``{"e": "error"}``): the
connection counts as lost until data flows again. Closing a socket can take
python-binance ~10 s, so a replaced socket is closed in the background.

Subclasses say what an event is for (:meth:`StreamConnection.on_data`) and
what a loss and a (re)connection mean to them (:meth:`StreamConnection.lost`,
:meth:`StreamConnection.connected`): the kline streams publish their status,
the order-book streams resync their books.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from avd.services.market.collector_state import ConnectionHealth
from avd.services.market.settings import CollectorSettings

# the collector's logger: the records keep the name they always had
log = logging.getLogger("avd.services.market.collector")


class StreamConnection:
    """A websocket connection carrying ``health.streams``, reopened until stopped.

    Parameters
    ----------
    health
        The connection's health, updated as it goes (and its stream names).
    settings
        The silence timeout, renewal age and reconnect delay.
    socket_manager
        Makes a python-binance socket manager (called at every (re)connect).
    """

    def __init__(
        self,
        health: ConnectionHealth,
        settings: CollectorSettings,
        socket_manager: Callable[[], Any],
    ) -> None:
        self.health = health
        self.settings = settings
        self._socket_manager = socket_manager
        self.running = True
        #: replaced sockets still closing in the background
        self.closing: set[asyncio.Task[Any]] = set()

    async def on_data(self, data: dict[str, Any]) -> None:
        """Handle one event (the ``data`` of a combined-stream message)."""
        raise NotImplementedError

    async def connected(self) -> None:
        """The connection carries data (again)."""

    async def lost(self) -> None:
        """Events may have been missed: the connection failed, was replaced or reported an error."""

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
                log.warning("stream connection failed (%s); reconnecting", exc)
            health.connected = False
            health.reconnects += 1
            await self.lost()
            await asyncio.sleep(self.settings.reconnect_delay_s)

    async def _read(self) -> None:
        """Read one connection until it must be replaced (silence, renewal, dead loop)."""
        health = self.health
        opened = time.monotonic()
        sock = self._socket_manager().multiplex_socket(health.streams)
        await sock.__aenter__()
        try:
            await self._mark_connected()
            while self.running:
                if time.monotonic() - opened > self.settings.renew_after_s:
                    log.info("renewing a stream connection before the 24 h cut")
                    return
                try:
                    # asyncio.timeout, not wait_for: no task per message
                    async with asyncio.timeout(self.settings.silence_timeout_s):
                        msg = await sock.recv()
                except TimeoutError:
                    log.warning(
                        "no message for %.0fs; reconnecting", self.settings.silence_timeout_s
                    )
                    return
                if not isinstance(msg, dict):
                    continue
                if msg.get("e") == "error":
                    health.errors = [*health.errors, f"{msg.get('type')}: {msg.get('m')}"][-10:]
                    if health.connected:
                        health.connected = False
                        health.reconnects += 1
                        await self.lost()
                    continue
                if not health.connected:
                    await self._mark_connected()
                data = msg.get("data", msg)
                health.last_message_at = time.time()
                event_time = data.get("E")
                if event_time:
                    health.last_event_time = int(event_time)
                    health.lag_ms = health.last_message_at * 1000 - int(event_time)
                await self.on_data(data)
        finally:
            health.connected = False
            task = asyncio.create_task(_close_socket(sock))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

    async def _mark_connected(self) -> None:
        self.health.connected = True
        self.health.connects += 1
        await self.connected()


async def _close_socket(sock: Any) -> None:
    """Close a python-binance socket without its ~10 s wait on a quiet stream.

    Its read loop only notices the exit after ``recv`` times out; closing the
    underlying websocket first makes that ``recv`` return at once.
    """
    ws = getattr(sock, "ws", None)
    if ws is not None:
        with contextlib.suppress(Exception):
            await ws.close()
    with contextlib.suppress(Exception):
        await sock.__aexit__(None, None, None)
