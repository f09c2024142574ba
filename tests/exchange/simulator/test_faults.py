from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from binance.exceptions import BinanceAPIException

from avd.exchange.simulator.rate_limit import RateLimiter
from tests.exchange.simulator.conftest import Sim, _start, run

#: 2026-04-20 00:00:00 UTC, in seconds: the start of a minute
MINUTE_START = 1_776_643_200.0


@pytest.fixture(scope="module")
def faulty_sim() -> Iterator[Sim]:
    yield from _start(speed=60.0, weight_limit=100, ban_after_429s=1, ban_seconds=120)


def test_injected_429_carries_retry_after_then_recovers(faulty_sim: Sim) -> None:
    faulty_sim.admin(
        "faults", http_status=429, http_count=1, retry_after=7, http_path="/api/v3/ticker"
    )

    async def go() -> None:
        c = await faulty_sim.create()
        try:
            with pytest.raises(BinanceAPIException) as ei:
                await c.get_ticker(symbol="BTCUSDT")
            e = ei.value
            assert (e.status_code, e.code) == (429, -1003)
            assert e.response.headers["Retry-After"] == "7"
            assert (await c.get_ticker(symbol="BTCUSDT"))["symbol"] == "BTCUSDT"
            await asyncio.to_thread(
                faulty_sim.admin, "faults", http_status=503, http_count=1, http_path=""
            )
            with pytest.raises(BinanceAPIException) as ei:
                await c.get_symbol_ticker(symbol="BTCUSDT")
            assert ei.value.status_code == 503
            await asyncio.to_thread(faulty_sim.admin, "faults", timestamp_errors=1)
            with pytest.raises(BinanceAPIException) as ei:
                await c.get_account()
            assert ei.value.code == -1021
            assert "balances" in await c.get_account()
        finally:
            await c.close_connection()

    run(go())


@contextmanager
def pinned_limiter(sim: Sim, now: list[float]) -> Iterator[None]:
    """The simulator's rate limits (100 weight a minute, a ban after one 429, for
    120 s) on a clock the test sets: no minute rolls over unless the test says so."""
    server = sim.bg.sim
    own = RateLimiter(100, 1, 120, clock=lambda: now[0])
    real = sim.bg.call(lambda: server.limiter)
    sim.bg.call(lambda: setattr(server, "limiter", own))
    try:
        yield
    finally:
        sim.bg.call(lambda: setattr(server, "limiter", real))
        # the weight the earlier tests used this minute is forgotten, as after a ban
        sim.bg.call(lambda: real.ips.clear())


def test_request_weight_limit_answers_429_then_418(faulty_sim: Sim) -> None:
    http = faulty_sim.http
    now = [MINUTE_START + 30.0]
    with pinned_limiter(faulty_sim, now):
        # exchangeInfo weighs 20: five fill the minute's 100, the sixth is refused
        # (429), the seventh is a refusal past the one allowed: a ban (418)
        statuses = [http.get("/api/v3/exchangeInfo").status_code for _ in range(7)]
        assert statuses == [200] * 5 + [429, 418]
        r418 = http.get("/api/v3/ping")
        assert r418.status_code == 418 and int(r418.headers["Retry-After"]) > 0
        assert r418.json()["code"] == -1003
        now[0] += 119  # still banned, though the minute is new
        assert http.get("/api/v3/ping").status_code == 418
        now[0] += 1  # the 120 s ban is over
        assert http.get("/api/v3/ping").status_code == 200


def test_a_new_minute_starts_with_no_weight_used(faulty_sim: Sim) -> None:
    # the case the wall clock used to make a test skip: the minute rolls over mid-run
    http = faulty_sim.http
    now = [MINUTE_START + 59.5]
    with pinned_limiter(faulty_sim, now):
        assert [http.get("/api/v3/exchangeInfo").status_code for _ in range(4)] == [200] * 4
        now[0] += 1  # 80 of 100 used, then the next minute begins
        statuses = [http.get("/api/v3/exchangeInfo").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]


def test_dropped_stream_reconnects_to_the_same_url(faulty_sim: Sim) -> None:
    async def go() -> list[dict[str, Any]]:
        c = await faulty_sim.create()
        bsm = faulty_sim.client.socket_manager(c)
        got: list[dict[str, Any]] = []
        try:
            async with bsm.kline_socket("SOLUSDT", interval="1m") as s:
                got.append(await asyncio.wait_for(s.recv(), 10))
                await asyncio.to_thread(faulty_sim.admin, "drop")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    m = await asyncio.wait_for(s.recv(), 15)
                    got.append(m)
                    if m.get("e") == "kline" and any(x.get("e") == "error" for x in got):
                        break
        finally:
            await c.close_connection()
        return got

    got = run(go())
    kinds = [m.get("e") for m in got]
    assert "error" in kinds  # python-binance reports the close ...
    first_error = kinds.index("error")
    assert "kline" in kinds[first_error:]  # ... then reconnects and streams again


def test_partial_fill_then_rest_fills_on_the_next_step(faulty_sim: Sim) -> None:
    faulty_sim.admin("pause")
    faulty_sim.admin("faults", partial_fills=1, partial_fraction="0.5")

    async def go() -> tuple[dict[str, Any], dict[str, Any], Decimal]:
        c = await faulty_sim.create()
        try:
            ask = Decimal((await c.get_orderbook_ticker(symbol="ETHUSDT"))["askPrice"])
            limit = (ask * Decimal("1.05")).quantize(Decimal("0.01"))
            o = await c.order_limit_buy(symbol="ETHUSDT", quantity="0.0100", price=f"{limit}")
            await asyncio.to_thread(faulty_sim.admin, "step", n=1)
            later = await c.get_order(symbol="ETHUSDT", orderId=o["orderId"])
            return o, later, ask
        finally:
            await c.close_connection()

    try:
        o, later, ask = run(go())
    finally:
        faulty_sim.admin("resume")
    assert o["status"] == "PARTIALLY_FILLED" and o["executedQty"] == "0.00500000"
    assert o["fills"][0]["price"] == f"{ask:.8f}"
    assert later["status"] == "FILLED" and later["executedQty"] == "0.01000000"


def test_rejected_orders_fault(faulty_sim: Sim) -> None:
    faulty_sim.admin("faults", reject_orders=1)

    async def go() -> None:
        c = await faulty_sim.create()
        try:
            with pytest.raises(BinanceAPIException) as ei:
                await c.order_market_buy(symbol="BTCUSDT", quantity="0.001")
            assert ei.value.code == -2010
            assert (await c.order_market_buy(symbol="BTCUSDT", quantity="0.001"))["status"] == (
                "FILLED"
            )
        finally:
            await c.close_connection()

    run(go())
