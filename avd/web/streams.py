"""Live event streams over WebSocket: one pump behind every stream endpoint.

An endpoint (``/stream``, ``/trades/stream``) says which event types it
offers (a :class:`Catalogue`) and, if it is private, how to authenticate;
:meth:`Streams.pump` does the rest, the same way for each:

* The connection is accepted first, so that every refusal reaches a real
  client as a close frame with a code and a reason (closing during the
  handshake only gives it an HTTP 403 with neither).
* A refusal closes with ``4000 +`` the HTTP status the same request would
  get: 4400 for an unknown query parameter or ``types`` name (an unknown
  name is an error, never "every event"), 4401 without a valid token, 4403
  when the token's account may not use the stream.
* A private stream takes the client's access token from
  ``Authorization: Bearer`` or ``?token=``.
* Ownership: an event carrying a ``client_id`` reaches only the stream
  authenticated as that client, whichever endpoint it is on; an anonymous
  stream never carries one.
* Frames are JSON text, one event each (``type`` names the event).
* Each connection has a bounded outbox behind a lossy hub subscription: a
  slow client never slows the hub. One that lets the outbox fill up is
  closed with 1013 (try again later) rather than left to miss events
  silently.
* The handler also reads the socket, so a client's close, or the server
  shutting the connection down, ends it at once; :meth:`Streams.close_all`
  (called when the server stops) closes every stream with 1001 (going
  away) first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from avd.domain.bus import EventBus
from avd.domain.errors import Refusal
from avd.domain.events import Event
from avd.web.encoding import dumps
from avd.web.errors import ApiError, status_of

log = logging.getLogger(__name__)

GOING_AWAY = 1001
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
#: a close frame's payload is at most 125 bytes, 2 of them the code
MAX_REASON_BYTES = 123

#: verifies a client's access token (None when none was given) and returns
#: the client's id; raises :class:`~avd.web.errors.ApiError` when refused
Authenticate = Callable[[str | None], Awaitable[int]]


class StreamRequestError(Exception):
    """A stream request that is closed at once, with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def close_reason(text: str) -> str:
    """``text`` cut to what fits in a close frame (whole UTF-8 characters)."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


def _always(_: Event) -> bool:
    return True


@dataclass(frozen=True)
class Catalogue:
    """The event types one stream endpoint offers, by the names ``types`` takes.

    Parameters
    ----------
    kinds
        Name (as given in ``types``) -> the event classes it stands for.
    default
        The names streamed when ``types`` is absent or empty.
    params
        Every query parameter the endpoint accepts; any other is refused.
    keep
        A last filter on each event (e.g. closed candles only).
    note
        Appended to the refusal of an unknown name (where the other events are).
    outbox
        Events queued for one connection before it counts as too slow
        (default: the :class:`Streams`' own).
    """

    kinds: Mapping[str, tuple[type[Event], ...]]
    default: tuple[str, ...]
    params: frozenset[str] = frozenset({"types"})
    keep: Callable[[Event], bool] = field(default=_always)
    note: str = ""
    outbox: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.default) - set(self.kinds)
        if unknown:
            raise ValueError(f"default types not offered: {sorted(unknown)}")

    def select(self, query: QueryParams) -> tuple[type[Event], ...]:
        """The event classes a request's query asks for.

        ``types`` is a comma-separated list of names (case-insensitive; the
        parameter may repeat); absent or empty means :attr:`default`.

        Raises
        ------
        StreamRequestError
            4400 for an unknown parameter or name, naming it and what is accepted.
        """
        extra = sorted(set(query.keys()) - self.params)
        if extra:
            raise StreamRequestError(
                BAD_REQUEST,
                close_reason(
                    f"unknown parameter {_names(extra)}; accepted: {', '.join(sorted(self.params))}"
                ),
            )
        names = [n.strip().lower() for value in query.getlist("types") for n in value.split(",")]
        wanted = list(dict.fromkeys(n for n in names if n)) or list(self.default)
        unknown = [n for n in wanted if n not in self.kinds]
        if unknown:
            known = ", ".join(sorted(self.kinds))
            noun = "type" if len(unknown) == 1 else "types"
            reason = f"unknown {noun} {_names(unknown)}; known: {known}"
            if self.note and len((reason + self.note).encode()) <= MAX_REASON_BYTES:
                reason += self.note
            raise StreamRequestError(BAD_REQUEST, close_reason(reason))
        return tuple(dict.fromkeys(cls for n in wanted for cls in self.kinds[n]))


def _names(values: Iterable[str], most: int = 3, longest: int = 24) -> str:
    """Names a client sent, quoted and shortened (they go back in a close reason)."""
    vs = list(values)
    shown = [repr(v if len(v) <= longest else v[: longest - 1] + "…") for v in vs[:most]]
    return ", ".join(shown) + (", …" if len(vs) > most else "")


def token_of(ws: WebSocket) -> str | None:
    """The access token of ``Authorization: Bearer`` or else of ``?token=``."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return ws.query_params.get("token") or None


class Streams:
    """The live streams of one app: each connection's pump, and their common stop.

    Parameters
    ----------
    outbox
        Events a connection may have unsent before it is closed as too slow.
    close_timeout_s
        How long a close frame, and :meth:`close_all`, may wait on a client.
    """

    def __init__(self, *, outbox: int = 4096, close_timeout_s: float = 2.0) -> None:
        if outbox < 1:
            raise ValueError("outbox must be >= 1")
        self.outbox = outbox
        self.close_timeout_s = close_timeout_s
        self._closing = False
        # per open stream, the event that tells it to close (made in its own loop)
        self._stops: dict[asyncio.Task[Any], asyncio.Event] = {}

    @property
    def open(self) -> int:
        """Streams currently open."""
        return len(self._stops)

    async def close_all(self) -> None:
        """Close every stream with 1001 (going away) and refuse new ones the same way.

        Waits at most :attr:`close_timeout_s` for the handlers to finish.
        """
        self._closing = True
        for stop in self._stops.values():
            stop.set()
        if self._stops:
            await asyncio.wait(set(self._stops), timeout=self.close_timeout_s)

    async def pump(
        self,
        ws: WebSocket,
        hub: EventBus,
        catalogue: Catalogue,
        *,
        authenticate: Authenticate | None = None,
    ) -> None:
        """Serve one stream connection until the client leaves or the server stops.

        ``authenticate`` makes the stream private: without a valid token it
        is closed at once.
        """
        await ws.accept()
        task = asyncio.current_task()
        assert task is not None
        stop = asyncio.Event()
        self._stops[task] = stop
        try:
            if self._closing:
                await self._close(ws, GOING_AWAY, "server shutting down")
                return
            try:
                owner = await self._owner(ws, authenticate)
                classes = catalogue.select(ws.query_params)
            except StreamRequestError as exc:
                await self._close(ws, exc.code, exc.reason)
                return
            except Exception:
                log.exception("stream %s: checking the request failed", ws.url.path)
                await self._close(ws, INTERNAL_ERROR, "internal error")
                return
            await self._run(ws, hub, catalogue, classes, owner, stop)
        finally:
            del self._stops[task]

    @staticmethod
    async def _owner(ws: WebSocket, authenticate: Authenticate | None) -> int | None:
        if authenticate is None:
            return None
        try:
            return await authenticate(token_of(ws))
        except ApiError as exc:
            raise StreamRequestError(4000 + exc.status, close_reason(exc.detail)) from None
        except Refusal as exc:
            raise StreamRequestError(4000 + status_of(exc), close_reason(exc.detail)) from None

    async def _run(
        self,
        ws: WebSocket,
        hub: EventBus,
        catalogue: Catalogue,
        classes: tuple[type[Event], ...],
        owner: int | None,
        stop: asyncio.Event,
    ) -> None:
        size = catalogue.outbox or self.outbox
        outbox: asyncio.Queue[str] = asyncio.Queue(size)
        overflowed = False

        async def forward(e: Event) -> None:
            nonlocal overflowed
            if sub.stats.dropped:
                # the hub already dropped events for this client: it has fallen behind
                overflowed = True
                stop.set()
                return
            # the ownership rule holds on every endpoint, whatever it subscribed to
            client_id = getattr(e, "client_id", None)
            if (client_id is not None and client_id != owner) or not catalogue.keep(e):
                return
            try:
                outbox.put_nowait(dumps(e.to_dict()).decode())
            except asyncio.QueueFull:
                overflowed = True
                stop.set()

        sub = hub.subscribe(
            f"ws:{ws.url.path}:{id(ws)}", forward, *classes, maxsize=size, lossy=True
        )
        reader = asyncio.create_task(_read_until_closed(ws), name="ws-reader")
        writer = asyncio.create_task(_write(ws, outbox), name="ws-writer")
        stopped = asyncio.create_task(stop.wait(), name="ws-stop")
        tasks = (reader, writer, stopped)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await hub.unsubscribe(sub)
            # wait(), not gather(): a cancellation of this handler keeps its own message
            await asyncio.wait(tasks)
            for t in tasks:
                if not t.cancelled() and t.exception() is not None:
                    log.warning("stream %s: %r", ws.url.path, t.exception())
        if stopped not in done:
            return  # the client closed, or the connection is gone
        if self._closing:
            await self._close(ws, GOING_AWAY, "server shutting down")
        elif overflowed:
            await self._close(
                ws,
                TRY_AGAIN_LATER,
                f"client too slow: over {size} events unsent; reconnect",
            )

    async def _close(self, ws: WebSocket, code: int, reason: str) -> None:
        # a client that reads nothing may never take the close frame: do not wait on it
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code, close_reason(reason)), self.close_timeout_s)


async def _read_until_closed(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until the connection ends.

    The stream is one-way, but reading is how a handler learns that the
    client closed or that the server is shutting the connection down.
    """
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def _write(ws: WebSocket, outbox: asyncio.Queue[str]) -> None:
    try:
        while True:
            await ws.send_text(await outbox.get())
    except (WebSocketDisconnect, WebSocketDisconnected, OSError):
        return  # the client is gone; the reader sees it too
