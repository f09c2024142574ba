"""Waiting in tests: poll for a condition until a deadline, never sleep a fixed time.

A fixed sleep is either too short on a loaded machine (a flaky test) or too
long everywhere else (a slow one). These helpers call a condition until it
holds and fail the test, naming what was awaited, when the deadline passes.
The short pause between two checks is the only sleep.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")

#: seconds between two checks
INTERVAL = 0.02

Message = str | Callable[[], str]


def _text(what: Message) -> str:
    return what() if callable(what) else what


def wait_until(
    condition: Callable[[], T | None],
    what: Message,
    *,
    timeout: float = 30.0,
    interval: float = INTERVAL,
) -> T:
    """Call ``condition`` until it returns a truthy value, and return that value.

    Raises
    ------
    AssertionError
        At the deadline, naming ``what`` (a text, or a function giving one,
        e.g. a subprocess's output read only on failure).
    """
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {_text(what)}")
        time.sleep(interval)


async def until(
    condition: Callable[[], T | Awaitable[T | None] | None],
    what: Message,
    *,
    timeout: float = 30.0,
    interval: float = INTERVAL,
) -> T:
    """:func:`wait_until` inside an event loop; ``condition`` may be a coroutine function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = condition()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {_text(what)}")
        await asyncio.sleep(interval)


def holds(
    condition: Callable[[], object], what: Message, *, seconds: float, interval: float = INTERVAL
) -> None:
    """Check that ``condition`` stays true for ``seconds`` (an absence of change).

    Only for claims that something does *not* happen, which no condition can
    confirm sooner; fails at the first check that is false.
    """
    end = time.monotonic() + seconds
    while True:
        assert condition(), f"no longer true: {_text(what)}"
        if time.monotonic() >= end:
            return
        time.sleep(interval)


def wait_http_ok(
    url: str,
    what: Message,
    *,
    proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
    timeout: float = 60.0,
) -> httpx.Response:
    """GET ``url`` until it answers 2xx (a server coming up); that response.

    ``proc``, the server's process if it runs in one, must keep running:
    an exit fails at once rather than at the deadline, with what it wrote to
    a pipe.
    """

    def answered() -> httpx.Response | None:
        if proc is not None and proc.poll() is not None:
            pipes = [p.read() for p in (proc.stdout, proc.stderr) if p is not None]
            output = "".join(
                p.decode(errors="replace") if isinstance(p, bytes) else p for p in pipes
            )
            raise AssertionError(f"{_text(what)} exited with {proc.returncode}:\n{output}")
        try:
            r = httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return None
        return r if r.is_success else None

    return wait_until(answered, what, timeout=timeout, interval=0.1)
