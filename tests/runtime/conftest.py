"""A real ``avd run`` in a subprocess, on a fresh data folder and a free port."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform import (  # noqa: F401 (re-exported for the tests of this folder)
    CHEAP_ARGON2,
    PASSWORD,
    RunningPlatform,
    start_avd,
    start_platform,
)


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator[Any]:
    """Start ``avd run`` processes; any still running at the end is killed."""
    started: list[RunningPlatform] = []

    def start(*args: str) -> RunningPlatform:
        p = start_platform(tmp_path / f"run{len(started)}", *args)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait()
