"""The market service's feed, into the trade service's own event bus (services apart).

When the services run apart, the trade service does not run a market
engine: it takes the MarketContext service's ``/internal/feed`` WebSocket
(with the service token) and publishes what comes, in order, on its own bus
— in-progress klines (prices for paper fills and stops), each closed candle
as the engine evaluated it, and the signals — exactly what the engine gets
from the MarketContext when they share a process.

A lost connection is retried with a backoff (0.2 s doubling to 5 s); while
it is down, :meth:`MarketFeed.health` says so (``/health`` of the trade
service), open positions keep their stops at the last price seen, and the
stale-kline guard of the trade engine keeps a reconnect from replaying old
prices into fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from avd.domain.bus import EventBus
from avd.domain.events import event_from_dict

log = logging.getLogger(__name__)

#: the feed's path on the market service
PATH = "/internal/feed"
BACKOFF_S = (0.2, 5.0)


class MarketFeed:
    """Subscribes to the market service's feed and republishes it on ``bus``.

    Parameters
    ----------
    url
        The market service's base URL (``http://host:port``).
    service_token
        The deployment's service token.
    bus
        Where the events go (the trade service's hub).
    """

    def __init__(self, url: str, service_token: str, bus: EventBus) -> None:
        base = url.rstrip("/")
        self.url = ("ws" + base[4:] if base.startswith("http") else base) + PATH
        self._token = service_token
        self._bus = bus
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        #: connections the market service closed at once with a 44xx code (a bad token)
        self.refusals = 0
        self.events = 0
        self.last_event_at: float | None = None
        self.down_since: float | None = time.time()
        self.last_error = ""

    def __repr__(self) -> str:  # the token stays out of reprs and logs
        return f"MarketFeed(url={self.url!r})"

    def start(self) -> None:
        """Connect in the background (and keep reconnecting)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="market-feed")

    async def stop(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    def health(self) -> dict[str, Any]:
        """Whether the feed is up, since when it is down, and what it carried."""
        return {
            "url": self.url,
            "connected": self.connected.is_set(),
            "down_since": self.down_since,
            "connects": self.connects,
            "refusals": self.refusals,
            "events": self.events,
            "last_event_at": self.last_event_at,
            "last_error": self.last_error,
        }

    async def _run(self) -> None:
        delay = BACKOFF_S[0]
        while True:
            try:
                await self._session()
                self.last_error = "the market service closed the feed"
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                self.last_error = f"refused: HTTP {exc.response.status_code}"
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                self.last_error = f"closed {code} {reason}".strip()
                if 4400 <= code < 4500:
                    # refused (the token): retrying fast would not help
                    self.refusals += 1
                    self.connects -= 1
                    delay = BACKOFF_S[1]
            except (OSError, WebSocketException, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            if self.connected.is_set() or self.down_since is None:
                self.down_since = time.time()
                log.warning("market feed lost (%s); reconnecting", self.last_error)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_S[1])

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with connect(
            self.url, additional_headers=headers, open_timeout=5, max_size=2**22, proxy=None
        ) as ws:
            self.connects += 1
            self.connected.set()
            self.down_since = None
            self.last_error = ""
            log.info("market feed connected to %s", self.url)
            async for frame in ws:
                event = event_from_dict(orjson.loads(frame))
                self.events += 1
                self.last_event_at = time.time()
                await self._bus.publish(event)
