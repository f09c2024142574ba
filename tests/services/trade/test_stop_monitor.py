"""The stop monitor driven by klines: trailing, break-even and partial exits, by hand."""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec
from typing import Any

from avd.domain.events import KlineReceived, SLAdjusted
from avd.exchange.exchange import OrderReport, SymbolInfo
from avd.exchange.paper import PaperExchange
from avd.runtime.hub import EventHub
from avd.services.trade.stops import StopMonitor, Tracked
from avd.trading import StopPlan, SymbolFilters

BTC = SymbolFilters("0.01", "0.00001", min_qty="0.00001", min_notional="5")
BTCUSDT = SymbolInfo("BTCUSDT", "BTC", "USDT", BTC)


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def stop_moved(self, t: Tracked, old: Dec, new: Dec, reason: str, ts: int) -> None:
        self.calls.append(("moved", old, new, reason, ts))

    async def exited(
        self,
        t: Tracked,
        qty: Dec,
        price: Dec,
        reason: str,
        ts: int,
        report: OrderReport | None,
        final: bool,
    ) -> None:
        self.calls.append(("exit", qty, price, reason, ts, final))

    async def order_recorded(self, t: Tracked, purpose: str, report: OrderReport) -> None:
        self.calls.append(("order", purpose, report.client_order_id, report.status))


def tick(price: str, ts: int) -> KlineReceived:
    p = float(price)
    return KlineReceived(
        symbol="BTCUSDT",
        interval="1m",
        open_time=0,
        open=p,
        high=p,
        low=p,
        close=p,
        volume=1.0,
        closed=False,
        event_time=ts,
    )


def drive(plan: StopPlan, entry: str, stop: str, qty: str, path: list[str]) -> tuple[Any, Any]:
    async def go() -> tuple[list[tuple[Any, ...]], list[Any]]:
        hub = EventHub()
        published: list[Any] = []

        async def rec(e: Any) -> None:
            published.append(e)

        hub.subscribe("rec", rec, SLAdjusted)
        hub.start()
        sink = Sink()
        mon = StopMonitor(hub, sink)
        ex = PaperExchange({"BTCUSDT": BTCUSDT})
        t = Tracked(1, 7, "BTCUSDT", "BUY", ex, BTC)
        await mon.add(t, entry=Dec(entry), stop=Dec(stop), qty=Dec(qty), plan=plan, opened_at=0)
        for i, price in enumerate(path, start=1):
            await mon.on_kline(tick(price, i))
        await asyncio.sleep(0)
        await hub.drain()
        await hub.stop()
        return sink.calls, published

    return asyncio.run(go())


def test_trailing_stop_follows_the_peak_by_five_percent() -> None:
    calls, published = drive(
        StopPlan(trail_pct="5"),
        "60000",
        "57000",
        "0.01",
        ["60000", "62000", "61000", "64000.50", "60800.40", "60900"],
    )
    # hand-computed: stop = peak x 0.95, rounded to the 0.01 tick, never loosened
    assert calls == [
        ("moved", Dec("57000"), Dec("58900"), "TrailingPercent", 2),  # 62000 x 0.95
        # 5% of 64000.50 is 3200.025, rounded down to the tick: 64000.50 - 3200.02
        ("moved", Dec("58900"), Dec("60800.48"), "TrailingPercent", 4),
        ("exit", Dec("0.01"), Dec("60800.40"), "trailing_stop", 5, True),
    ]
    assert [(Dec(e.old_stop), Dec(e.new_stop), e.trade_id, e.client_id) for e in published] == [
        (Dec("57000"), Dec("58900"), 1, 7),
        (Dec("58900"), Dec("60800.48"), 1, 7),
    ]


def test_break_even_after_one_r_then_stopped_at_the_gap_price() -> None:
    calls, _ = drive(
        StopPlan(breakeven_after_r=1), "100", "95", "1", ["103", "105", "104", "99.50"]
    )
    # R = 100 - 95 = 5: at 105 (+1R) the stop moves to the entry, 100
    assert calls == [
        ("moved", Dec("95"), Dec("100.00"), "BreakEven", 2),
        ("exit", Dec("1"), Dec("99.50"), "break_even", 4, True),
    ]


def test_partial_exits_at_one_and_two_r_then_the_rest_stops_out() -> None:
    calls, _ = drive(
        StopPlan(take_profits=[(1, "0.5"), (2, "0.25")]),
        "100",
        "90",
        "1",
        ["105", "110", "115", "120.50", "89"],
    )
    # R = 10: half at 110 (1R), a quarter at 120.50 (first price >= 2R = 120), the rest at 89
    assert calls == [
        ("exit", Dec("0.5"), Dec("110"), "take_profit", 2, False),
        ("exit", Dec("0.25"), Dec("120.50"), "take_profit", 4, False),
        ("exit", Dec("0.25"), Dec("89"), "stop_loss", 5, True),
    ]
    # P&L by hand: 0.5 x 10 + 0.25 x 20.5 - 0.25 x 11 = 5 + 5.125 - 2.75 = 7.375
    pnl = sum((c[2] - Dec(100)) * c[1] for c in calls)
    assert pnl == Dec("7.375")


def candle(i: int, close: float) -> KlineReceived:
    """A closed 1m candle: high and low 5 away from the close."""
    return KlineReceived(
        symbol="BTCUSDT",
        interval="1m",
        open_time=i * 60_000,
        open=close - 2.0,
        high=close + 5.0,
        low=close - 5.0,
        close=close,
        volume=1.0,
        closed=True,
    )


def run_klines(plan: StopPlan, klines: list[KlineReceived]) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        hub = EventHub()
        hub.start()
        sink = Sink()
        mon = StopMonitor(hub, sink)
        ex = PaperExchange({"BTCUSDT": BTCUSDT})
        t = Tracked(1, 7, "BTCUSDT", "BUY", ex, BTC)
        await mon.add(t, entry=Dec("100"), stop=Dec("90"), qty=Dec("1"), plan=plan, opened_at=0)
        for k in klines:
            await mon.on_kline(k)
        await hub.drain()
        await hub.stop()
        return sink.calls

    return asyncio.run(go())


def test_chandelier_stop_trails_the_peak_by_k_atr() -> None:
    # closes 102, 104, ..., 130: every true range is 10 (high - low; the
    # gaps to the previous close are 7 and 3), so Wilder's ATR(14) is
    # exactly 10 once ready, after the 15th candle. The stop then moves to
    # the peak (the 15th high, 135) minus 2 x 10 = 115, at that close.
    calls = run_klines(StopPlan(chandelier_k="2"), [candle(i, 100.0 + 2 * i) for i in range(1, 16)])
    moves = [c for c in calls if c[0] == "moved"]
    assert moves == [("moved", Dec("90"), Dec("115"), "Chandelier", 15 * 60_000 + 59_999)]


def test_time_stop_closes_after_the_configured_minutes() -> None:
    # opened at 0 with a 3-minute time stop: still open at 120 s, closed by
    # the first price at or after 180 s (its own price)
    calls = drive(StopPlan(time_stop_ms=180_000), "100", "90", "1", [])[0]
    assert calls == []

    async def go() -> list[tuple[Any, ...]]:
        hub = EventHub()
        hub.start()
        sink = Sink()
        mon = StopMonitor(hub, sink)
        ex = PaperExchange({"BTCUSDT": BTCUSDT})
        t = Tracked(1, 7, "BTCUSDT", "BUY", ex, BTC)
        await mon.add(
            t,
            entry=Dec("100"),
            stop=Dec("90"),
            qty=Dec("1"),
            plan=StopPlan(time_stop_ms=180_000),
            opened_at=0,
        )
        for price, ts in (("101", 60_000), ("102", 120_000), ("103.5", 180_000), ("104", 240_000)):
            await mon.on_kline(tick(price, ts))
        await hub.drain()
        await hub.stop()
        return sink.calls

    calls = asyncio.run(go())
    assert calls == [("exit", Dec("1"), Dec("103.5"), "time_stop", 180_000, True)]
