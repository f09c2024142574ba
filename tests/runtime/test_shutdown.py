"""SIGINT and SIGTERM stop ``avd run`` completely, whatever streams are open.

Before the fix, one idle client on ``/stream`` or ``/trades/stream`` kept the
process alive forever after Ctrl-C (the stream handlers waited for events
and never noticed the server stopping), and a second Ctrl-C printed
tracebacks.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.runtime.conftest import RunningPlatform

GOING_AWAY = 1001


async def _open_idle_streams(p: RunningPlatform, token: str) -> list[Any]:
    # no signal is due in the seconds this lasts, and this client never trades:
    # both streams are idle, the case that used to hang the stop
    market = await websockets.connect(f"{p.ws}/stream?types=signal")
    trades = await websockets.connect(
        f"{p.ws}/trades/stream", additional_headers={"Authorization": f"Bearer {token}"}
    )
    return [market, trades]


async def _close_frame(ws: Any, deadline_s: float = 20) -> Any:
    """The close frame the server sent (None if the connection just dropped)."""
    try:
        async with asyncio.timeout(deadline_s):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd


def _assert_nothing_half_written(p: RunningPlatform) -> None:
    out = p.output()
    assert "Traceback" not in out, out
    # the database was closed cleanly: SQLite folds its write-ahead log back
    # into the file when the last connection closes
    db = p.folder / "client.db"
    assert not (p.folder / "client.db-wal").exists(), "the database was left open"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_platform_with_idle_streams_open(
    platform_factory: Any, sig: signal.Signals
) -> None:
    p: RunningPlatform = platform_factory("--symbols", "BTCUSDT")
    _, token = p.client("idle@example.com")

    async def main() -> list[Any]:
        clients = await _open_idle_streams(p, token)
        p.proc.send_signal(sig)
        return [await _close_frame(ws) for ws in clients]

    frames = asyncio.run(main())
    # a clean stop is a normal end: exit status 0 (documented in the README)
    assert p.wait(20) == 0
    assert [(f.code, f.reason) for f in frames] == [(GOING_AWAY, "server shutting down")] * 2
    _assert_nothing_half_written(p)


def test_a_second_ctrl_c_lets_the_stop_finish_without_tracebacks(platform_factory: Any) -> None:
    p: RunningPlatform = platform_factory("--symbols", "BTCUSDT")
    _, token = p.client("twice@example.com")

    async def main() -> None:
        clients = await _open_idle_streams(p, token)
        p.proc.send_signal(signal.SIGINT)
        await _close_frame(clients[0])
        p.proc.send_signal(signal.SIGINT)
        for ws in clients:
            await _close_frame(ws)

    asyncio.run(main())
    assert p.wait(20) == 0
    _assert_nothing_half_written(p)
    assert "already stopping" in p.output()
