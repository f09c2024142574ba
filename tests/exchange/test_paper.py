"""Paper market orders of signals: they fill at the first trade after the decision.

Hand-worked cases on one 1m candle after the signal's close at 59_999 ms:
open 100.00, high 103.00, low 99.00, close 102.00 (a rising candle: the fill
model's path is open -> low -> high -> close at +0, +19_999, +39_999, +59_999).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec

from avd.exchange.exchange import OrderReport, OrderRequest, SymbolInfo
from avd.exchange.paper import PaperExchange
from avd.trading import FillModel, SymbolFilters

BTC = SymbolFilters("0.01", "0.00001", min_qty="0.00001", min_notional="5")
BTCUSDT = SymbolInfo("BTCUSDT", "BTC", "USDT", BTC)
SIGNAL_CLOSE = 59_999
NEXT = 60_000
CANDLE = (Dec(100), Dec(103), Dec(99), Dec(102), Dec(10))


def _buy(after_ms: int | None) -> OrderRequest:
    return OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.5"), "avd-1-1-e", after_ms=after_ms)


def _exchange(**model: object) -> tuple[PaperExchange, list[OrderReport]]:
    ex = PaperExchange({"BTCUSDT": BTCUSDT}, {"USDT": Dec(1000)}, model=FillModel(**model))
    seen: list[OrderReport] = []

    async def listen(r: OrderReport) -> None:
        seen.append(r)

    ex.on_order_update(listen)
    return ex, seen


def test_a_signal_order_waits_and_fills_at_the_next_candles_open() -> None:
    async def go() -> None:
        ex, seen = _exchange()
        await ex.on_kline("BTCUSDT", 0, SIGNAL_CLOSE, CANDLE, closed=True, ts=SIGNAL_CLOSE)
        placed = await ex.place_order(_buy(SIGNAL_CLOSE))
        assert (placed.status, placed.executed_qty) == ("NEW", 0)
        # the next candle, seen whole: its open is the first trade after the close
        await ex.on_kline("BTCUSDT", NEXT, NEXT + 59_999, CANDLE, closed=True, ts=NEXT + 59_999)
        (filled,) = seen
        assert (filled.status, filled.average_price, filled.time) == ("FILLED", Dec(100), NEXT)
        # 0.5 BTC at 100 paid in USDT; the 0.1 % commission (0.0005) taken in BTC
        bal = await ex.balances()
        assert (bal["USDT"].free, bal["BTC"].free) == (Dec(950), Dec("0.4995"))

    asyncio.run(go())


def test_latency_fills_on_the_candles_path_and_an_unpayable_fill_expires() -> None:
    async def go() -> None:
        # 30 s after the close: the path's first point at or after it is the
        # high, 103.00 at +39_999
        ex, seen = _exchange(latency_ms=30_000)
        await ex.place_order(_buy(SIGNAL_CLOSE))
        await ex.on_kline("BTCUSDT", NEXT, NEXT + 59_999, CANDLE, closed=True, ts=NEXT + 59_999)
        assert [(r.average_price, r.time) for r in seen] == [(Dec(103), NEXT + 39_999)]
        # 20 BTC at 100 = 2 000 USDT, more than the 1 000 the account holds
        ex, seen = _exchange()
        big = OrderRequest("BTCUSDT", "BUY", "MARKET", Dec(20), "avd-1-2-e", after_ms=SIGNAL_CLOSE)
        await ex.place_order(big)
        await ex.on_kline("BTCUSDT", NEXT, NEXT + 59_999, CANDLE, closed=True, ts=NEXT + 59_999)
        assert [(r.status, r.executed_qty) for r in seen] == [("EXPIRED", 0)]
        assert (await ex.balances())["USDT"].free == Dec(1000)

    asyncio.run(go())


def test_in_progress_klines_give_the_open_first_and_manual_orders_fill_at_once() -> None:
    async def go() -> None:
        ex, seen = _exchange()
        await ex.place_order(_buy(SIGNAL_CLOSE))
        # the first in-progress update of the next candle (price now 101.50)
        forming = (Dec(100), Dec("101.5"), Dec(100), Dec("101.5"), Dec(1))
        await ex.on_kline("BTCUSDT", NEXT, NEXT + 59_999, forming, closed=False, ts=NEXT + 2_000)
        assert [(r.average_price, r.time) for r in seen] == [(Dec(100), NEXT)]
        # a manual order (no decision time) fills now at the latest price
        now = await ex.place_order(
            OrderRequest("BTCUSDT", "BUY", "MARKET", Dec("0.1"), "avd-1-3-e")
        )
        assert (now.status, now.average_price) == ("FILLED", Dec("101.5"))

    asyncio.run(go())
