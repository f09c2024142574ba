"""BinanceExchange with the real python-binance client against the simulator."""

from __future__ import annotations

import asyncio
import gc
import time
from decimal import Decimal as Dec
from typing import Any

import pytest

from avd.exchange.binance import BinanceExchange
from avd.exchange.exchange import ExchangeError, OrderReport, OrderRequest, client_order_id
from avd.exchange.rest_limiter import RestLimiter
from tests.polling import until
from tests.services.trade.conftest import Sim, run


def exchange(sim: Sim, **kw: Any) -> BinanceExchange:
    kw.setdefault("limiter", RestLimiter())
    return BinanceExchange(sim.create, lambda c: sim.client.socket_manager(c), mode="sim", **kw)


def test_client_order_ids_are_deterministic_and_valid() -> None:
    assert client_order_id(7, 123, "e") == "avd-7-123-e"
    assert client_order_id(7, 123, "s2") == client_order_id(7, 123, "s2")
    assert client_order_id(7, 123, "e", "k3f9a") == "avdk3f9a-7-123-e"
    assert len(client_order_id(2_147_483_647, 2_147_483_647, "p10", "zzzzz")) <= 36
    with pytest.raises(ValueError):
        client_order_id(1, 1, "x" * 30)


def test_market_order_rounds_quantity_down_to_the_step(sim: Sim) -> None:
    before = sim.balances()

    async def go() -> OrderReport:
        ex = exchange(sim, user_stream=False)
        try:
            return await ex.place_order(
                OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.0012345"), "t-mkt-1")
            )
        finally:
            await ex.close()

    r = run(go())
    after = sim.balances()
    # LOT_SIZE step 0.00001: 0.0012345 -> 0.00123 (down)
    assert r.status == "FILLED" and r.executed_qty == Dec("0.00123")
    assert r.client_order_id == "t-mkt-1"
    spent = before["USDT"][0] - after["USDT"][0]
    got = after["BTC"][0] - before["BTC"][0]
    assert spent == r.cumulative_quote  # the simulator's own ledger agrees
    assert got == Dec("0.00123") - Dec("0.00000123")  # 0.1% commission in BTC
    assert sum(f.qty for f in r.fills) == Dec("0.00123")


def test_limit_order_price_rounds_to_the_tick_passively_then_cancels(sim: Sim) -> None:
    async def go() -> tuple[OrderReport, list[OrderReport], OrderReport, list[OrderReport]]:
        ex = exchange(sim, user_stream=False)
        try:
            last = await ex.last_price("BTCUSDT")
            price = (last * Dec("0.9")).quantize(Dec("0.01")) + Dec("0.009")
            placed = await ex.place_order(
                OrderRequest("BTCUSDT", "BUY", "LIMIT", Dec("0.001"), "t-lim-1", price=price)
            )
            opened = await ex.open_orders("BTCUSDT")
            cancelled = await ex.cancel_order("BTCUSDT", "t-lim-1")
            return placed, opened, cancelled, await ex.open_orders("BTCUSDT")
        finally:
            await ex.close()

    placed, opened, cancelled, after = run(go())
    assert placed.status == "NEW"
    # a BUY limit rounds down to the 0.01 tick: x.xx9 -> x.xx
    assert placed.price == placed.price.quantize(Dec("0.01"))
    assert [o.client_order_id for o in opened] == ["t-lim-1"]
    assert cancelled.status == "CANCELED"
    assert after == []


def test_insufficient_balance_is_minus_2010(sim: Sim) -> None:
    async def go() -> None:
        ex = exchange(sim, user_stream=False)
        try:
            with pytest.raises(ExchangeError) as ei:
                await ex.place_order(OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("5"), "t-2010"))
            assert ei.value.code == -2010
            assert ei.value.rule == "insufficient_balance"
            assert "insufficient balance" in ei.value.message
            assert await ex.get_order("BTCUSDT", "t-2010") is None
        finally:
            await ex.close()

    run(go())


def test_filter_failure_names_the_filter_and_the_numbers(sim: Sim) -> None:
    async def go() -> None:
        ex = exchange(sim, user_stream=False)
        try:
            with pytest.raises(ExchangeError) as ei:
                await ex.place_order(
                    OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.00001"), "t-1013")
                )
            e = ei.value
            assert e.code == -1013 and e.rule == "filter_notional"
            assert "minNotional 5" in e.message and "0.00001" in e.message
            with pytest.raises(ExchangeError) as ei:
                await ex.place_order(
                    OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.000001"), "t-1013b")
                )
            assert ei.value.rule == "filter_lot_size"
            assert await ex.get_order("BTCUSDT", "t-1013") is None
        finally:
            await ex.close()

    run(go())


def test_a_5xx_is_looked_up_by_client_id_before_resending(sim: Sim) -> None:
    sim.admin("faults", http_status=503, http_count=1, http_path="/api/v3/order")

    async def go() -> tuple[OrderReport, list[dict[str, Any]]]:
        ex = exchange(sim, user_stream=False)
        try:
            r = await ex.place_order(
                OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.0002"), "t-5xx-1")
            )
            c = await sim.create()
            try:
                rows = await c.get_all_orders(symbol="BTCUSDT")
            finally:
                await c.close_connection()
            return r, rows
        finally:
            await ex.close()

    r, rows = run(go())
    assert r.status == "FILLED"
    assert [o["clientOrderId"] for o in rows].count("t-5xx-1") == 1


def test_a_timeout_after_execution_finds_the_order_instead_of_resending(sim: Sim) -> None:
    async def go() -> tuple[OrderReport, list[dict[str, Any]], int]:
        ex = exchange(sim, user_stream=False)
        await ex.start()
        real = ex.client.create_order
        calls = 0

        async def lost_reply(**params: Any) -> Any:
            nonlocal calls
            calls += 1
            await real(**params)  # the exchange executes it ...
            raise TimeoutError  # ... but the answer never arrives

        ex.client.create_order = lost_reply
        try:
            r = await ex.place_order(
                OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.0002"), "t-timeout-1")
            )
            c = await sim.create()
            try:
                rows = await c.get_all_orders(symbol="BTCUSDT")
            finally:
                await c.close_connection()
            return r, rows, calls
        finally:
            await ex.close()

    r, rows, calls = run(go())
    assert calls == 1  # never resent
    assert r.status == "FILLED" and r.executed_qty == Dec("0.0002")
    assert [o["clientOrderId"] for o in rows].count("t-timeout-1") == 1


# python-binance 1.0.37 never closes the socket of a WebSocket API connection the
# server dropped (its reconnect replaces it): collected here, not in a later test
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_user_data_stream_recovers_after_a_dropped_connection(sim: Sim) -> None:
    async def go() -> tuple[list[str], list[str], float]:
        ex = exchange(sim)
        got: list[OrderReport] = []

        async def listen(r: OrderReport) -> None:
            got.append(r)

        reconciled = asyncio.Event()

        async def reconcile() -> None:
            reconciled.set()

        ex.on_order_update(listen)
        ex.on_reconnect(reconcile)
        await ex.start()
        try:
            await asyncio.wait_for(ex.stream_connected.wait(), 10)
            await ex.place_order(OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.0002"), "t-us-1"))
            await until(
                lambda: any(g.client_order_id == "t-us-1" for g in got),
                "t-us-1's report",
                timeout=10,
            )
            before = [f"{g.client_order_id}:{g.status}" for g in got]
            t0 = time.monotonic()
            # the simulator closes the market streams and the WS API connections
            dropped = await asyncio.to_thread(sim.admin, "drop")
            assert dropped["user"] >= 1
            await asyncio.wait_for(reconciled.wait(), 15)
            took = time.monotonic() - t0
            n = len(got)
            await ex.place_order(OrderRequest("BTCUSDT", "SELL", "MARKET", Dec("0.0002"), "t-us-2"))
            await until(
                lambda: any(g.client_order_id == "t-us-2" for g in got[n:]),
                "t-us-2's report after the reconnect",
                timeout=10,
            )
            return before, [f"{g.client_order_id}:{g.status}" for g in got[n:]], took
        finally:
            await ex.close()

    before, after, took = run(go())
    gc.collect()
    assert before == ["t-us-1:NEW", "t-us-1:FILLED"]
    assert after == ["t-us-2:NEW", "t-us-2:FILLED"]
    assert took < 10


def test_balances_follow_the_user_stream_between_account_reads(sim: Sim) -> None:
    # Read once from the account endpoint, then kept by outboundAccountPosition:
    # an order placed by another connection (nothing this exchange object did)
    # shows in its balances without another account read.
    async def go() -> tuple[Dec, Dec, int, int]:
        ex = exchange(sim)
        other = exchange(sim, user_stream=False)
        await ex.start()
        try:
            await asyncio.wait_for(ex.stream_connected.wait(), 10)
            # count the account reads (the real call still goes to the simulator)
            account_reads = 0
            real_get_account = ex.client.get_account

            async def get_account(**kw: Any) -> Any:
                nonlocal account_reads
                account_reads += 1
                return await real_get_account(**kw)

            ex.client.get_account = get_account
            first = (await ex.balances())["BTC"].total
            reads = account_reads
            r = await other.place_order(
                OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.001"), "t-bal-1")
            )
            assert r.status == "FILLED"
            got = first

            async def changed() -> bool:
                nonlocal got
                got = (await ex.balances())["BTC"].total
                return got != first

            await until(changed, "the stream to update the balances", timeout=10)
            return first, got, reads, account_reads
        finally:
            await other.close()
            await ex.close()

    first, got, reads, after = run(go())
    # 0.001 BTC bought, 0.1 % of it taken as commission
    assert got - first == Dec("0.001") - Dec("0.000001")
    assert (reads, after) == (1, 1)  # one account read, then the stream
