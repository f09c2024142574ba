from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import websockets

from tests.exchange.simulator.conftest import Sim, _start, run
from tests.polling import holds, wait_until


@pytest.fixture(scope="module")
def consumer_paced() -> Iterator[Sim]:
    yield from _start(speed=0.0)


def test_speed_zero_streams_as_fast_as_read_and_holds_without_consumers(
    consumer_paced: Sim,
) -> None:
    assert consumer_paced.http.get("/sim/admin/state").json()["steps"] == 0

    async def go() -> list[dict[str, object]]:
        url = f"ws://{consumer_paced.address}/ws/btcusdt@kline_1m"
        out = []
        async with websockets.connect(url) as ws:
            while len(out) < 300:
                out.append(orjson.loads(await asyncio.wait_for(ws.recv(), 10)))
        return out

    msgs = run(go())
    closed = [m for m in msgs if m["k"]["x"]]  # type: ignore[index]
    assert len(closed) >= 25  # 10 steps per candle: ~30 candles in 300 messages
    starts = [m["k"]["t"] for m in closed]  # type: ignore[index]
    assert starts == sorted(set(starts))

    def state() -> dict[str, Any]:
        return consumer_paced.http.get("/sim/admin/state").json()  # type: ignore[no-any-return]

    wait_until(lambda: state()["stream_connections"] == 0, "the consumer to be gone", timeout=10)
    held = state()["steps"]
    # with a consumer it stepped ~300 times in well under a second: half a second
    # without one and not a single step is the hold
    holds(lambda: state()["steps"] == held, "the replay holds without consumers", seconds=0.5)
