"""One websocket connection of kline streams, read and reopened for the market data collector.

A :class:`KlineConnection` carries a share of the streams (Binance's
``multiplex_socket``). It is replaced when silent for ``silence_timeout_s``
and renewed after ``renew_after_s`` (before Binance's 24-hour cut);
python-binance's error dicts (``{"e": "error"}``) mark it reconnecting until
klines flow again. Every kline goes to the collector's ``on_kline``; the
connection's health is kept in its :class:`ConnectionHealth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from avd.domain.bus import EventBus
from avd.domain.events import KlineReceived, StreamStatusChanged
from avd.services.market.collector_state import ConnectionHealth
from avd.services.market.settings import CollectorSettings

# the collector's logger: the records keep the name they always had
log = logging.getLogger("avd.services.market.collector")


def kline_from_stream(data: dict[str, Any]) -> KlineReceived:
    """A kline from a websocket ``kline`` event."""
    k = data["k"]
    return KlineReceived(
        symbol=k["s"],
        interval=k["i"],
        open_time=int(k["t"]),
        open=float(k["o"]),
        high=float(k["h"]),
        low=float(k["l"]),
        close=float(k["c"]),
        volume=float(k["v"]),
        quote_volume=float(k["q"]),
        trades=float(k["n"]),
        taker_buy_base=float(k["V"]),
        closed=bool(k["x"]),
        event_time=int(data.get("E", 0)),
    )


class KlineConnection:
    """A websocket connection carrying ``health.streams``, reopened until stopped.

    Parameters
    ----------
    health
        The connection's health, updated as it goes (and its stream names).
    settings
        The silence timeout, renewal age and reconnect delay.
    hub
        Where :class:`StreamStatusChanged` events are published.
    socket_manager
        Makes a python-binance socket manager (called at every (re)connect).
    on_kline
        Handles every streamed kline.
    """

    def __init__(
        self,
        health: ConnectionHealth,
        settings: CollectorSettings,
        hub: EventBus,
        socket_manager: Callable[[], Any],
        on_kline: Callable[[KlineReceived], Awaitable[None]],
    ) -> None:
        self.health = health
        self.settings = settings
        self.hub = hub
        self._socket_manager = socket_manager
        self._on_kline = on_kline
        self.running = True
        #: replaced sockets still closing in the background
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
                health.errors = ([*health.errors, f"{type(exc).__name__}: {exc}"])[-10:]
                log.warning("stream connection failed (%s); reconnecting", exc)
            health.connected = False
            health.reconnects += 1
            await self.hub.publish(
                StreamStatusChanged(stream=",".join(health.streams[:3]), status="reconnecting")
            )
            await asyncio.sleep(self.settings.reconnect_delay_s)

    async def _read(self) -> None:
        """Read one connection until it must be replaced (silence, renewal, dead loop).

        python-binance reconnects a dropped socket to the same URL by itself
        and reports it with error dicts; reading simply goes on, and the gap
        logic backfills what was missed meanwhile. Closing a socket can take
        python-binance ~10 s, so a replaced socket is closed in the background.
        """
        health = self.health
        bsm = self._socket_manager()
        opened = time.monotonic()
        sock = bsm.multiplex_socket(health.streams)
        await sock.__aenter__()
        try:
            _mark_connected(health)
            await self.hub.publish(StreamStatusChanged(stream=_label(health), status="connected"))
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
                        await self.hub.publish(
                            StreamStatusChanged(stream=_label(health), status="reconnecting")
                        )
                    continue
                data = msg.get("data", msg)
                if data.get("e") != "kline":
                    continue
                if not health.connected:
                    _mark_connected(health)
                    await self.hub.publish(
                        StreamStatusChanged(stream=_label(health), status="connected")
                    )
                k = kline_from_stream(data)
                health.last_message_at = time.time()
                health.last_event_time = k.event_time
                if k.event_time:
                    health.lag_ms = health.last_message_at * 1000 - k.event_time
                await self._on_kline(k)
        finally:
            health.connected = False
            task = asyncio.create_task(_close_socket(sock))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)


def _mark_connected(health: ConnectionHealth) -> None:
    health.connected = True
    health.connects += 1


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


def _label(health: ConnectionHealth) -> str:
    more = len(health.streams) - 3
    return ",".join(health.streams[:3]) + (f" (+{more})" if more > 0 else "")
