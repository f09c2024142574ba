"""Latency from ``POST /trades/execute`` to ``TradePlaced``, on loopback, against the simulator.

The TradeEngine service is served by uvicorn on 127.0.0.1; a "live" client's
market order goes to the local simulator over loopback HTTP with the real
python-binance client; the clock stops when the hub delivers TradePlaced to a
subscriber. Each round closes the previous position first (not timed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from avd.domain.events import TradePlaced
from avd.net import free_port as _free_port
from avd.services.trade.routes import routes
from avd.web.errors import EXCEPTION_HANDLERS
from tests.polling import until

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from tests.services.trade.conftest import Sim, _start, close_stack, make_stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from _start(speed=1.0, paused=True)


def test_execute_to_trade_placed_latency(benchmark: Any, sim: Sim, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    state: dict[str, Any] = {}

    async def setup() -> None:
        stack = await make_stack(tmp_path, sim, risk={"max_open_positions": 50})
        _, token = await stack.client("bench@example.com", mode="live", max_open_positions=50)
        placed: asyncio.Queue[TradePlaced] = asyncio.Queue()

        async def on_placed(e: Any) -> None:
            placed.put_nowait(e)

        stack.hub.subscribe("bench", on_placed, TradePlaced)
        app = Starlette(routes=routes(stack.trade), exception_handlers=EXCEPTION_HANDLERS)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        task = asyncio.create_task(server.serve())
        await until(lambda: server.started, "the server to start", timeout=30)
        http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        )
        state.update(stack=stack, server=server, task=task, http=http, placed=placed, ids=[])

    async def one() -> None:
        t0 = time.perf_counter_ns()
        r = await state["http"].post(
            "/trades/execute",
            json={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "20"},
        )
        assert r.status_code == 201, r.text
        ev = await asyncio.wait_for(state["placed"].get(), 10)
        state["ids"].append(ev.trade_id)
        state.setdefault("ns", []).append(time.perf_counter_ns() - t0)

    async def close_all() -> None:
        stack = state["stack"]
        for tid in state["ids"]:
            with contextlib.suppress(Exception):
                await stack.engine.close(stack.engine.monitor.positions[tid].client_id, tid)
        state["ids"].clear()

    async def teardown() -> None:
        await close_all()
        await state["http"].aclose()
        state["server"].should_exit = True
        await state["task"]
        await close_stack(state["stack"])

    loop.run_until_complete(setup())
    try:
        benchmark.pedantic(
            lambda: loop.run_until_complete(one()),
            setup=lambda: loop.run_until_complete(close_all()),
            rounds=30,
            warmup_rounds=2,
        )
    finally:
        loop.run_until_complete(teardown())
        loop.close()
    assert state["ns"] and all(Decimal(n) > 0 for n in state["ns"])
