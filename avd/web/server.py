"""Serving an app with uvicorn, and stopping it completely on SIGINT or SIGTERM.

uvicorn alone waits for every connection to finish before it stops the app,
with no limit; a stream that never ends kept ``avd run`` alive forever after
Ctrl-C. A second Ctrl-C then skipped the app's shutdown (nothing flushed,
the database left open) and re-raised the signal into a half-stopped
process, with tracebacks. :class:`Server` changes that:

* SIGINT and SIGTERM both ask for the same clean stop; the first one starts
  it, later ones only say that it is under way (interrupting it would leave
  files half-written).
* On stop, the listening sockets close, every live stream is closed with
  1001 (going away) by :meth:`avd.web.streams.Streams.close_all`, requests
  still running get :data:`GRACE_S` seconds, then the app's lifespan
  shutdown runs (the platform flushes and closes what it holds).
* The signal is not raised again once stopped: a stop asked for by a signal
  is a normal end, exit status 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn

from avd.web.streams import Streams

#: how long requests still running when the stop begins may take to finish
GRACE_S = 5
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration of an AVD app (``options`` override the defaults)."""
    defaults: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        # uvicorn's info lines quote the query string, where a stream's token may be
        "log_level": "warning",
        "lifespan": "on",
        "ws": "websockets-sansio",
        "timeout_graceful_shutdown": GRACE_S,
    }
    return uvicorn.Config(app, host=host, port=port, **(defaults | options))


class Server(uvicorn.Server):
    """A uvicorn server whose stop always finishes (see the module's docstring).

    Parameters
    ----------
    config
        uvicorn's configuration (see :func:`config`).
    streams
        The app's live streams, closed first when the server stops.
    """

    def __init__(self, config: uvicorn.Config, streams: Streams | None = None) -> None:
        super().__init__(config)
        self.streams = streams

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start the stop on the first signal; say it is under way on later ones."""
        if self.should_exit:
            # a signal handler must not take the logging locks: a plain write
            os.write(2, b"already stopping: streams closed, flushing and closing the data\n")
            return
        self.should_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Route SIGINT and SIGTERM to :meth:`handle_exit` while serving."""
        # signals reach only the main thread (tests may serve from another)
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, close the streams with 1001, then uvicorn's shutdown."""
        for server in getattr(self, "servers", []):
            server.close()
        if self.streams is not None:
            await self.streams.close_all()
        await super().shutdown(sockets)


def run(app: Any, host: str, port: int, streams: Streams | None = None) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then stop it completely (``avd serve``)."""
    Server(config(app, host, port), streams).run()
