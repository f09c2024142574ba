"""Binance's user data stream, watched and reopened; and closing a python-binance client at once.

:class:`UserDataStream` subscribes to ``user_socket()`` (over the WebSocket
API) with a client of its own. On any error dict, and when the WebSocket API
connection is lost (after which python-binance goes silent without
resubscribing), the user socket is closed, a new client subscribes again, and
the owner's reconcile callback runs. ``executionReport`` events go to the
order listeners; ``outboundAccountPosition`` events to the owner's account
callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from avd.exchange.binance_wire import parse_execution_report
from avd.exchange.exchange import OrderListener, OrderReport

log = logging.getLogger("avd.exchange.binance")


async def shutdown_client(client: Any) -> None:
    """Close a python-binance client at once.

    Its WebSocket API read loop notices a close only at its next 10 s
    timeout; aborting the transport first makes the close immediate.
    """
    ws_api = getattr(client, "ws_api", None)
    if ws_api is not None and getattr(ws_api, "_handle_read_loop", None):
        from binance.ws.constants import WSListenerState

        ws_api.ws_state = WSListenerState.EXITING
    ws = getattr(ws_api, "ws", None)
    transport = getattr(ws, "transport", None)
    if transport is not None:
        with contextlib.suppress(Exception):
            transport.abort()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close_connection(), 12)


class UserDataStream:
    """The user data stream of one account, reopened whenever it fails.

    Parameters
    ----------
    client_factory
        Creates a python-binance client (the stream's own).
    socket_manager
        Makes the socket manager of a client (``None``: no stream can start).
    watch_interval_s
        How often a quiet stream checks that its WebSocket API is alive.
    on_account
        Called with every ``outboundAccountPosition`` event.
    on_lost
        Called whenever the stream is down (events may have been lost).
    """

    def __init__(
        self,
        client_factory: Callable[[], Awaitable[Any]],
        socket_manager: Callable[[Any], Any] | None,
        *,
        watch_interval_s: float,
        on_account: Callable[[dict[str, Any]], None],
        on_lost: Callable[[], None],
    ) -> None:
        self._factory = client_factory
        self._bsm_factory = socket_manager
        self._watch_s = watch_interval_s
        self._on_account = on_account
        self._on_lost = on_lost
        self.listeners: list[OrderListener] = []
        #: run after the stream was reopened
        self.reconcile: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        #: how many times the stream was (re)opened
        self.opens = 0

    @property
    def running(self) -> bool:
        """Whether the stream's task was started (and not stopped)."""
        return self._task is not None

    def start(self) -> None:
        """Start watching the stream in a task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="user-stream")

    async def stop(self) -> None:
        """Stop the stream; let the listeners finish and the sockets close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=10)
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=3)
        for t in list(self._closing):
            t.cancel()

    def _ws_api_alive(self, client: Any) -> bool:
        ws_api = getattr(client, "ws_api", None)
        ws = getattr(ws_api, "ws", None)
        if ws is None:
            return True
        state = getattr(ws, "state", None)
        name = getattr(state, "name", None)
        return name in (None, "OPEN", "CONNECTING")

    def _close_later(self, sock: Any, client: Any) -> None:
        # closing a quiet python-binance socket can take 10 s: do not wait for it
        async def close() -> None:
            timer = getattr(sock, "_timer", None)
            if timer is not None:
                timer.cancel()
            # the subscription died with its connection: closing the client is enough
            await shutdown_client(client)

        t = asyncio.create_task(close())
        self._closing.add(t)
        t.add_done_callback(self._closing.discard)

    async def _dispatch(self, report: OrderReport) -> None:
        # shielded: a close never cuts a listener in the middle of a database write
        for listener in self.listeners:

            async def call(fn: OrderListener = listener) -> None:
                await fn(report)

            task: asyncio.Task[None] = asyncio.create_task(call())
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            await asyncio.shield(task)

    async def _run(self) -> None:
        # The stream has its own client: after a WebSocket API reconnect
        # python-binance does not resubscribe (it goes silent), so on any error
        # the whole client is dropped and a fresh one subscribes again.
        assert self._bsm_factory is not None
        backoff = 0.2
        while True:
            sock: Any = None
            client: Any = None
            try:
                client = await self._factory()
                sock = self._bsm_factory(client).user_socket()
                await sock.__aenter__()
                self.opens += 1
                self.connected.set()
                backoff = 0.2
                if self.opens > 1 and self.reconcile is not None:
                    await self.reconcile()
                while True:
                    try:
                        msg = await asyncio.wait_for(sock.recv(), self._watch_s)
                    except TimeoutError:
                        if not self._ws_api_alive(client):
                            log.warning("user data stream: WebSocket API connection lost")
                            break
                        continue
                    if not isinstance(msg, dict):
                        continue
                    if msg.get("e") == "error":
                        log.warning("user data stream error (%s): reopening", msg.get("m"))
                        break
                    if msg.get("e") == "executionReport":
                        await self._dispatch(parse_execution_report(msg))
                    elif msg.get("e") == "outboundAccountPosition":
                        self._on_account(msg)
            except asyncio.CancelledError:
                if sock is not None:
                    self._close_later(sock, client)
                raise
            except Exception as exc:
                log.warning("user data stream failed (%s); reopening", exc)
            self.connected.clear()
            self._on_lost()  # events may be lost while disconnected
            if sock is not None:
                self._close_later(sock, client)
            elif client is not None:
                await shutdown_client(client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
