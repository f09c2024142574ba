"""What every command of the ``avd`` CLI shares: the console and the one-line errors.

Each area keeps its commands in its own ``commands.py`` with a ``register``
function; :mod:`avd.cli` builds the command line from them. This module sits
below every area (it imports none), so any ``commands.py`` may use it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, Protocol, TypeVar

import typer
from rich.console import Console

from avd.exceptions import AvdError

#: wide enough for the context table even when the output is not a terminal
console = Console(width=None if sys.stdout.isatty() else 140)

P = ParamSpec("P")
R = TypeVar("R")


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn AVD and OS errors into a one-line message and exit status 2."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (AvdError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return run


class Failure(Protocol):
    """What stopped a server's start or stop (:class:`avd.web.startup.StartupFailure`)."""

    error: BaseException | None
    phase: str

    def describe(self) -> str:
        """The failure as one line."""
        ...


def run_server(serve: Callable[[], None], failure: Failure, what: str) -> None:
    """Run a server until it returns; a failed start is one line and exit status 2.

    uvicorn exits (status 3) when the app's lifespan failed; the
    :class:`~avd.web.startup.StartupGuard` in the app kept the reason.
    """
    try:
        serve()
    except SystemExit:
        if failure.error is None:
            raise
    if failure.error is not None:
        typer.echo(f"error: {what} did not {failure.phase}: {failure.describe()}", err=True)
        raise typer.Exit(2)
