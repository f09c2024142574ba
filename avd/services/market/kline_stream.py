"""One websocket connection of kline streams, read and reopened for the market data collector.

A :class:`KlineConnection` carries a share of the streams (Binance's
``multiplex_socket``), kept open by :class:`StreamConnection` (silence,
renewal before the 24-hour cut, python-binance's error dicts). Every kline
goes to the collector's ``on_kline``; each loss and (re)connection is
published as a :class:`StreamStatusChanged`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from avd.domain.bus import EventBus
from avd.domain.events import KlineReceived, StreamStatusChanged
from avd.services.market.collector_state import ConnectionHealth
from avd.services.market.settings import CollectorSettings
from avd.services.market.stream_connection import StreamConnection


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


class KlineConnection(StreamConnection):
    """A websocket connection of kline streams, reopened until stopped.

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
        super().__init__(health, settings, socket_manager)
        self.hub = hub
        self._on_kline = on_kline

    async def on_data(self, data: dict[str, Any]) -> None:
        """A kline event to the collector (other events are ignored)."""
        if data.get("e") == "kline":
            await self._on_kline(kline_from_stream(data))

    async def connected(self) -> None:
        """Published: the streams are connected."""
        await self.hub.publish(StreamStatusChanged(stream=_label(self.health), status="connected"))

    async def lost(self) -> None:
        """Published: the streams are reconnecting (the gap logic backfills what was missed)."""
        await self.hub.publish(
            StreamStatusChanged(stream=_label(self.health), status="reconnecting")
        )


def _label(health: ConnectionHealth) -> str:
    more = len(health.streams) - 3
    return ",".join(health.streams[:3]) + (f" (+{more})" if more > 0 else "")
