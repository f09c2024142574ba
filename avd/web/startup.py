"""A service that fails to start ends with one line, not a traceback.

Starlette reports an exception raised in an app's lifespan to the server
together with its traceback, and uvicorn prints that traceback before it
exits. :class:`StartupGuard`, an ASGI middleware, keeps the exception in a
:class:`StartupFailure` instead and reports a bare failure, so the server
still stops; the command that ran the server reads the failure and prints
one line (``avd.cli``). The traceback is logged at DEBUG level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from avd.exceptions import AvdError

log = logging.getLogger(__name__)

_FAILED = ("lifespan.startup.failed", "lifespan.shutdown.failed")


@dataclass
class StartupFailure:
    """The exception that stopped a service's lifespan, if any."""

    error: BaseException | None = None
    #: "start" or "stop"
    phase: str = "start"

    def describe(self) -> str:
        """The failure as one line."""
        exc = self.error
        if exc is None:
            return ""
        text = " ".join(str(exc).split())
        if isinstance(exc, AvdError | ValueError | OSError) and text:
            return text
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _DropServerFailureLines(logging.Filter):
    """uvicorn's own "Application startup failed" line repeats the command's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(
            ("Application startup failed", "Application shutdown failed")
        )


class StartupGuard:
    """ASGI middleware keeping a lifespan failure for the command to report.

    Parameters
    ----------
    app
        The wrapped application.
    failure
        Receives the exception.
    """

    def __init__(self, app: ASGIApp, failure: StartupFailure) -> None:
        self.app = app
        self.failure = failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through; hold back a failed lifespan's traceback."""
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def guarded(message: Message) -> None:
            if message["type"] in _FAILED:
                held.append(message)  # sent once the exception is known, without traceback
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded)
        except Exception as exc:
            if not held:
                raise
            self.failure.error = exc
            self.failure.phase = "start" if held[0]["type"] == _FAILED[0] else "stop"
            log.debug("the service failed to start or stop", exc_info=exc)
            server_log = logging.getLogger("uvicorn.error")
            if not any(isinstance(f, _DropServerFailureLines) for f in server_log.filters):
                server_log.addFilter(_DropServerFailureLines())
            await send({"type": held[0]["type"], "message": ""})
