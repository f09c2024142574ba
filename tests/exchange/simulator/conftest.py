from __future__ import annotations

import asyncio
import csv
import gzip
import warnings
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.exchange.simulator.client import SimClient
from avd.exchange.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from avd.history import sample_dir

with warnings.catch_warnings():
    # python-binance 1.0.37 imports websockets' legacy client, deprecated upstream
    warnings.simplefilter("ignore", DeprecationWarning)
    import binance  # noqa: F401

KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
START = datetime(2026, 4, 20, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def source_rows(symbol: str) -> dict[int, list[str]]:
    """The bundled CSV read with the standard library (independent of the simulator)."""
    with gzip.open(Path(sample_dir()) / f"{symbol}-1m.csv.gz", "rt") as fh:
        return {int(r[0]): r for r in list(csv.reader(fh))[1:]}


def same(a: str, b: str) -> bool:
    return Decimal(a) == Decimal(b)


class Sim:
    def __init__(self, bg: BackgroundSimulator) -> None:
        self.bg = bg
        self.address = bg.address
        self.client = SimClient(bg.address)
        self.http = httpx.Client(base_url=f"http://{bg.address}", timeout=30)

    def admin(self, action: str, **body: Any) -> dict[str, Any]:
        r = self.http.post(f"/sim/admin/{action}", json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def create(self, key: str = KEY, secret: str = SECRET) -> Any:
        return await self.client.create(key, secret)


def _start(**kw: Any) -> Iterator[Sim]:
    cfg = SimConfig(step_ms=6000, start=START, port=0, **kw)
    bg = BackgroundSimulator(cfg).start()
    sim = Sim(bg)
    try:
        yield sim
    finally:
        sim.http.close()
        bg.stop()


@pytest.fixture(scope="module")
def paused_sim() -> Iterator[Sim]:
    """A simulator that moves only when a test steps it."""
    yield from _start(speed=1.0, paused=True)


@pytest.fixture(scope="module")
def live_sim() -> Iterator[Sim]:
    """A simulator replaying at 60x with 10 steps per 1m candle (a candle every second)."""
    yield from _start(speed=60.0)
