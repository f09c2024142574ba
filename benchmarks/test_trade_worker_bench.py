"""What one trade worker sustains: clients, open positions, signals, and its lease round.

One TradeService (paper clients, the simulator for symbols and prices, the
database a local SQLite file, as ``avd run``; a worker of a split
deployment does the same work on PostgreSQL) with ``CLIENTS`` enabled bots
on BTCUSDT and ``workers.leases`` on, so it owns them through leases:

- a BUY signal for every client (each: risk check, sizing, the trade and
  its order persisted, a paper market order): entries per second;
- a kline through the stops of ``CLIENTS`` open positions: klines per second
  and position updates per second;
- one lease round (heartbeat, renewal, dealing) with ``CLIENTS`` clients.

With benchmarks disabled each runs once as a smoke test (fewer clients).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from avd.domain.events import KlineReceived, SignalGenerated

from .conftest import RESULTS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from tests.services.trade.conftest import Sim, _start, close_stack, make_stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLIENTS = 200
KLINES = 200


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from _start(speed=1.0, paused=True)


def _signal(side: str, at: int, price: Decimal) -> SignalGenerated:
    return SignalGenerated(
        symbol="BTCUSDT",
        interval="1m",
        side=side,
        confidence=0.8,
        reason="bench",
        generated_at=at,
        score=80.0,
        pattern="breakout",
        price=float(price),
    )


def _kline(open_time: int, price: Decimal, closed: bool) -> KlineReceived:
    p = float(price)
    # a candle around the price, on the 0.01 tick
    up, down = float(price + Decimal("1.00")), float(price - Decimal("1.00"))
    return KlineReceived(
        symbol="BTCUSDT",
        interval="1m",
        open_time=open_time,
        open=p,
        high=up,
        low=down,
        close=p,
        volume=1.0,
        closed=closed,
    )


def test_one_trade_worker_signals_positions_and_leases(
    benchmark: Any, sim: Sim, tmp_path: Path
) -> None:
    n = CLIENTS if not benchmark.disabled else 5
    loop = asyncio.new_event_loop()
    figures: dict[str, float] = {}

    async def go() -> None:
        stack = await make_stack(
            tmp_path,
            sim,
            risk={"max_open_positions": 50},
            bots_cache_s=0,
            workers={"leases": True, "lease_s": 60, "renew_s": 30},
        )
        engine = stack.engine
        try:
            for i in range(n):
                await stack.client(f"b{i}@example.com", enabled=True, symbols=["BTCUSDT"])
            t0 = time.perf_counter()
            await engine.leases.tick()  # claims (and restores) every client
            figures["first lease round, claiming every client (ms)"] = (
                time.perf_counter() - t0
            ) * 1e3
            assert len(engine.leases.owned) == n
            t0 = time.perf_counter()
            await engine.leases.tick()
            figures["lease round (ms)"] = (time.perf_counter() - t0) * 1e3

            c = await sim.create()
            try:
                price = Decimal((await c.get_symbol_ticker(symbol="BTCUSDT"))["price"])
            finally:
                await c.close_connection()
            at = 10**13 + 59_999
            t0 = time.perf_counter()
            await engine.on_signal(_signal("BUY", at, price))
            figures["BUY signal to every client (s)"] = time.perf_counter() - t0
            await engine.on_tick("BTCUSDT", at + 1, price)  # the paper entries fill
            await stack.hub.drain()
            assert len(engine.monitor.positions) == n, len(engine.monitor.positions)
            t0 = time.perf_counter()
            for k in range(KLINES):
                await engine.on_kline(_kline(at + 1 + k * 60_000, price, closed=True))
            figures["klines through the stops (s)"] = time.perf_counter() - t0
        finally:
            await close_stack(stack)

    try:
        benchmark.pedantic(lambda: loop.run_until_complete(go()), rounds=1, iterations=1)
    finally:
        loop.close()
    if benchmark.disabled:
        return
    RESULTS[f"one trade worker, {n} paper clients on SQLite"] = {
        "entries/s from one BUY signal": n / figures["BUY signal to every client (s)"],
        "klines/s with every position tracked": KLINES / figures["klines through the stops (s)"],
        "position updates/s": n * KLINES / figures["klines through the stops (s)"],
        "first lease round ms": figures["first lease round, claiming every client (ms)"],
        "lease round ms": figures["lease round (ms)"],
    }
