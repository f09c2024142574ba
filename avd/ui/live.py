"""Live events for the pages: the market stream and each user's trade stream.

One WebSocket to the Market service's public ``/stream`` serves every page
of the process (:class:`MarketFeed`, fanned out in memory); each page that
shows a user's trades opens that user's ``/trades/stream`` with the user's
token (:func:`follow_trades`). Both reconnect by themselves, and a page's
subscriptions end when its browser tab goes away. Handlers run on the
event loop and may update the page's elements directly: NiceGUI pushes the
change to the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
import websockets
from nicegui import background_tasks, context

if TYPE_CHECKING:
    from nicegui.client import Client

    from avd.ui.session import Session
    from avd.ui.settings import ServiceUrls

log = logging.getLogger(__name__)

Event = dict[str, Any]
Handler = Callable[[Event], Awaitable[None] | None]

#: seconds between attempts to reconnect a stream
RETRY_S = 1.0
#: close codes after which reconnecting cannot help (bad request, forbidden)
FINAL_CODES = {4400, 4403}


def _in_page(client: Client, handler: Handler) -> Handler:
    """``handler`` run inside ``client``'s page, so that it may notify or add elements.

    The feeds run in background tasks, which have no page of their own: NiceGUI
    would refuse ``ui.notify`` or a new element there.
    """

    async def run(event: Event) -> None:
        if client.is_deleted:
            return
        with client:
            result = handler(event)
            if result is not None:
                await result

    return run


async def _dispatch(handlers: list[Handler], event: Event) -> None:
    for handler in list(handlers):
        try:
            result = handler(event)
            if result is not None:
                await result
        except Exception:  # one page's failure must not stop the feed for the others
            log.exception("live handler failed on %s", event.get("type"))


async def _pump(
    url: str, on_event: Callable[[Event], Awaitable[None]], token: str | None = None
) -> int | None:
    """Read ``url`` until it closes: the close code (``None`` if it never opened).

    The token goes in the ``Authorization`` header, never in the URL (URLs
    end up in access logs).
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        async with websockets.connect(
            url, open_timeout=5, max_size=2**22, additional_headers=headers
        ) as ws:
            async for frame in ws:
                await on_event(orjson.loads(frame))
            return ws.close_code
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else None
    except (OSError, TimeoutError, websockets.InvalidHandshake):
        return None


class MarketFeed:
    """The public market stream, read once and shared by every page."""

    TYPES = "context,signal,candle"

    def __init__(self, locate: Callable[[], ServiceUrls]) -> None:
        self.locate = locate
        self._handlers: list[Handler] = []
        self._task: asyncio.Task[None] | None = None
        #: True while the stream is open (shown in the page header)
        self.connected = False

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every market event; the returned function stops it."""
        self._handlers.append(handler)
        if self._task is None or self._task.done():
            self._task = background_tasks.create(self._run(), name="avd-ui-market-feed")

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._handlers.remove(handler)

        return unsubscribe

    def for_page(self, handler: Handler) -> None:
        """Subscribe ``handler`` for as long as the current page is open (run in the page)."""
        client = context.client
        unsubscribe = self.subscribe(_in_page(client, handler))
        client.on_delete(unsubscribe)

    async def _run(self) -> None:
        while self._handlers:
            self.connected = True
            url = f"{self.locate().ws('market')}/stream?types={self.TYPES}"
            await _pump(url, lambda e: _dispatch(self._handlers, e))
            self.connected = False
            await asyncio.sleep(RETRY_S)

    async def stop(self) -> None:
        """Close the stream (the UI is shutting down)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def follow_trades(session: Session, handler: Handler) -> None:
    """Call ``handler`` with the user's trade, order and risk events while the page is open."""
    client = context.client
    handlers = [_in_page(client, handler)]

    async def run() -> None:
        from avd.ui.session import api
        from avd.ui.state import shared

        urls = shared().urls
        while not client.is_deleted:
            token = session.access_token
            if token is None:
                return
            code = await _pump(
                f"{urls.ws('trade')}/trades/stream", lambda e: _dispatch(handlers, e), token
            )
            if code in FINAL_CODES:
                return
            if code == 4401:
                try:
                    await api().refresh(session, token)
                except Exception:
                    return
            await asyncio.sleep(RETRY_S)

    task = background_tasks.create(run(), name="avd-ui-trade-feed")
    client.on_delete(task.cancel)
