from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from binance.exceptions import BinanceAPIException

from tests.exchange.simulator.conftest import KEY, SECRET, Sim, run

FEE = Decimal("0.001")


def balances(acct: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in acct["balances"]}


async def _err(coro: Any) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as ei:
        await coro
    return ei.value


def test_signed_requests_are_verified(paused_sim: Sim) -> None:
    async def go() -> None:
        good = await paused_sim.create()
        bad_secret = await paused_sim.create(KEY, "wrong" + SECRET)
        unknown = await paused_sim.create("unknownKey123", SECRET)
        try:
            assert "balances" in await good.get_account()
            e = await _err(bad_secret.get_account())
            assert (e.status_code, e.code) == (400, -1022)
            e = await _err(unknown.get_account())
            assert (e.status_code, e.code) == (401, -2015)
            good.timestamp_offset = -120_000  # a client clock two minutes behind
            e = await _err(good.get_account())
            assert e.code == -1021
            # a client order id with ':' and '/' signs unencoded, travels encoded
            good.timestamp_offset = 0
            await good.create_test_order(
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.001",
                price="50000",
                newClientOrderId="a:b/c",
            )
        finally:
            for c in (good, bad_secret, unknown):
                await c.close_connection()

    run(go())


def test_market_orders_move_balances_exactly(paused_sim: Sim) -> None:
    async def go() -> None:
        c = await paused_sim.create()
        try:
            before = balances(await c.get_account())
            book = await c.get_orderbook_ticker(symbol="BTCUSDT")
            ask, bid = Decimal(book["askPrice"]), Decimal(book["bidPrice"])
            qty = Decimal("0.01")
            buy = await c.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
            assert buy["status"] == "FILLED" and buy["type"] == "MARKET"
            assert [
                (f["price"], f["qty"], f["commission"], f["commissionAsset"]) for f in buy["fills"]
            ] == [(f"{ask:.8f}", "0.01000000", "0.00001000", "BTC")]
            assert Decimal(buy["cummulativeQuoteQty"]) == ask * qty
            mid = balances(await c.get_account())
            assert mid["USDT"][0] == before["USDT"][0] - ask * qty
            assert mid["BTC"][0] == before["BTC"][0] + qty - qty * FEE
            sell = await c.order_market_sell(
                symbol="BTCUSDT", quantity="0.005", newOrderRespType="RESULT"
            )
            assert sell["status"] == "FILLED" and "fills" not in sell
            after = balances(await c.get_account())
            proceeds = bid * Decimal("0.005")
            assert after["USDT"][0] == mid["USDT"][0] + proceeds - (proceeds * FEE).quantize(
                Decimal("0.00000001")
            )
            assert after["BTC"][0] == mid["BTC"][0] - Decimal("0.005")
            trades = await c.get_my_trades(symbol="BTCUSDT")
            mine = [t for t in trades if t["orderId"] in (buy["orderId"], sell["orderId"])]
            assert [(t["isBuyer"], t["isMaker"], t["commissionAsset"]) for t in mine] == [
                (True, False, "BTC"),
                (False, False, "USDT"),
            ]
            ack = await c.create_order(
                symbol="BTCUSDT",
                side="BUY",
                type="MARKET",
                quoteOrderQty="100",
                newOrderRespType="ACK",
            )
            assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
        finally:
            await c.close_connection()

    run(go())


def test_limit_orders_lock_rest_cancel_and_take(paused_sim: Sim) -> None:
    async def go() -> None:
        c = await paused_sim.create()
        try:
            before = balances(await c.get_account())
            bid = Decimal((await c.get_orderbook_ticker(symbol="BTCUSDT"))["bidPrice"])
            low = (bid * Decimal("0.9")).quantize(Decimal("0.01"))
            o = await c.order_limit_buy(
                symbol="BTCUSDT", quantity="0.002", price=f"{low}", newClientOrderId="rest-1"
            )
            assert o["status"] == "NEW" and o["executedQty"] == "0.00000000"
            locked = balances(await c.get_account())
            assert locked["USDT"] == (
                before["USDT"][0] - low * Decimal("0.002"),
                before["USDT"][1] + low * Decimal("0.002"),
            )
            assert [x["orderId"] for x in await c.get_open_orders(symbol="BTCUSDT")] == [
                o["orderId"]
            ]
            e = await _err(
                c.order_limit_buy(
                    symbol="BTCUSDT", quantity="0.002", price=f"{low}", newClientOrderId="rest-1"
                )
            )
            assert (e.code, e.message) == (-2010, "Duplicate order sent.")
            got = await c.get_order(symbol="BTCUSDT", origClientOrderId="rest-1")
            assert got["isWorking"] is True and got["status"] == "NEW"
            cancel = await c.cancel_order(symbol="BTCUSDT", orderId=o["orderId"])
            assert cancel["status"] == "CANCELED" and cancel["origClientOrderId"] == "rest-1"
            assert balances(await c.get_account())["USDT"] == before["USDT"]
            e = await _err(c.cancel_order(symbol="BTCUSDT", orderId=o["orderId"]))
            assert e.code == -2011
            # a limit buy above the ask takes at the ask
            ask = Decimal((await c.get_orderbook_ticker(symbol="BTCUSDT"))["askPrice"])
            t = await c.order_limit_buy(
                symbol="BTCUSDT", quantity="0.001", price=f"{ask + 100:.2f}"
            )
            assert t["status"] == "FILLED" and t["fills"][0]["price"] == f"{ask:.8f}"
            done = balances(await c.get_account())
            assert done["USDT"] == (before["USDT"][0] - ask * Decimal("0.001"), before["USDT"][1])
        finally:
            await c.close_connection()

    run(go())


def test_filters_balance_and_test_orders(paused_sim: Sim) -> None:
    async def go() -> None:
        c = await paused_sim.create()
        try:
            lim = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
            assert await c.create_test_order(**lim, quantity="0.001", price="60000") == {}
            cases = [
                ({"quantity": "0.001", "price": "60000.001"}, "Filter failure: PRICE_FILTER"),
                ({"quantity": "0.000001", "price": "60000"}, "Filter failure: LOT_SIZE"),
                ({"quantity": "0.00001", "price": "60000"}, "Filter failure: NOTIONAL"),
            ]
            for extra, msg in cases:
                e = await _err(c.create_order(**lim, **extra))
                assert (e.code, e.message) == (-1013, msg)
            e = await _err(c.create_order(**lim, quantity="1", price="60000"))
            assert (e.code, e.message) == (
                -2010,
                "Account has insufficient balance for requested action.",
            )
            e = await _err(
                c.create_order(
                    symbol="BTCUSDT", side="BUY", type="MARKET", timeInForce="GTC", quantity="0.001"
                )
            )
            assert e.code == -1106
            e = await _err(
                c.create_order(
                    symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001"
                )
            )
            assert e.code == -1102
            e = await _err(c.create_order(**lim, quantity=0.00001, price="60000"))
            assert e.code == -1100  # python-binance sends 1e-05
        finally:
            await c.close_connection()

    run(go())


def test_stop_and_take_profit_limit_orders(paused_sim: Sim) -> None:
    async def go() -> None:
        c = await paused_sim.create()
        try:
            last = Decimal((await c.get_symbol_ticker(symbol="BTCUSDT"))["price"])
            base = {"symbol": "BTCUSDT", "side": "SELL", "timeInForce": "GTC", "quantity": "0.001"}
            e = await _err(
                c.create_order(
                    **base,
                    type="STOP_LOSS_LIMIT",
                    stopPrice=f"{last + 10:.2f}",
                    price=f"{last:.2f}",
                )
            )
            assert (e.code, e.message) == (-2010, "Order would trigger immediately.")
            # a stop just under the market, triggered by the next dip
            klines = await c.get_klines(symbol="BTCUSDT", interval="1m", limit=1)
            assert klines
            stop = (last - Decimal("0.01")).quantize(Decimal("0.01"))
            sl = await c.create_order(
                **base,
                type="STOP_LOSS_LIMIT",
                stopPrice=f"{stop}",
                price=f"{stop - 1000}",
                newOrderRespType="RESULT",
            )
            assert sl["status"] == "NEW" and sl["workingTime"] == -1
            tp = await c.create_order(
                **base,
                type="TAKE_PROFIT_LIMIT",
                stopPrice=f"{last * 2:.2f}",
                price=f"{last * 2:.2f}",
            )
            assert set(tp) >= {"orderId", "clientOrderId", "transactTime"}
            state = await c.get_order(symbol="BTCUSDT", orderId=sl["orderId"])
            assert state["isWorking"] is False and state["type"] == "STOP_LOSS_LIMIT"
            for _ in range(60):
                await asyncio.to_thread(paused_sim.admin, "step", n=1)
                state = await c.get_order(symbol="BTCUSDT", orderId=sl["orderId"])
                now = Decimal((await c.get_symbol_ticker(symbol="BTCUSDT"))["price"])
                if state["status"] != "NEW" or now < stop:
                    break
            state = await c.get_order(symbol="BTCUSDT", orderId=sl["orderId"])
            assert state["status"] == "FILLED" and state["isWorking"] is True
            assert Decimal(state["executedQty"]) == Decimal("0.001")
            tp_state = await c.get_order(symbol="BTCUSDT", orderId=tp["orderId"])
            assert tp_state["status"] == "NEW"
            await c.cancel_order(symbol="BTCUSDT", orderId=tp["orderId"])
        finally:
            await c.close_connection()

    run(go())


def test_user_stream_reports_new_trade_then_position(paused_sim: Sim) -> None:
    async def go() -> list[dict[str, Any]]:
        c = await paused_sim.create()
        bsm = paused_sim.client.socket_manager(c)
        events: list[dict[str, Any]] = []
        try:
            async with bsm.user_socket() as us:
                await c.create_order(
                    symbol="ETHUSDT",
                    side="BUY",
                    type="MARKET",
                    quantity="0.01",
                    newClientOrderId="ws-1",
                )
                while len(events) < 3:
                    events.append(await asyncio.wait_for(us.recv(), 10))
        finally:
            await c.close_connection()
        return events

    ev = run(go())
    assert [e["e"] for e in ev] == ["executionReport", "executionReport", "outboundAccountPosition"]
    assert [(e["x"], e["X"], e["c"]) for e in ev[:2]] == [
        ("NEW", "NEW", "ws-1"),
        ("TRADE", "FILLED", "ws-1"),
    ]
    assert ev[1]["l"] == "0.01000000" and ev[1]["N"] == "ETH"
    assert Decimal(ev[1]["Y"]) == Decimal(ev[1]["l"]) * Decimal(ev[1]["L"])
    assert {b["a"] for b in ev[2]["B"]} == {"ETH", "USDT"}
