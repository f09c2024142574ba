"""The daily loss limit and the drawdown block, by hand (a fixed internal balance)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec

import pytest

from avd.api.client import schemas as cm
from avd.orchestrator.risk_manager import (
    EntryRequest,
    RiskLimits,
    RiskManager,
    RiskRefusal,
)
from avd.trading import SymbolFilters

BTC = SymbolFilters("0.01", "0.00001", min_qty="0.00001", min_notional="5")
DAY = 1_776_643_200.0  # 2026-04-20T00:00:00Z


class Balance:
    """The Client service's answer, fixed at 10000 (the gateway interface)."""

    async def internal_balance(self, client_id: int) -> cm.InternalBalance:
        return cm.InternalBalance(
            client_id=client_id, balance=Dec(10000), can_trade=True, blocked=False
        )


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def entry() -> EntryRequest:
    return EntryRequest(
        client_id=1,
        symbol="BTCUSDT",
        side="BUY",
        entry=Dec("60000"),
        stop=Dec("59400"),
        filters=BTC,
        risk_percent=Dec("1"),
    )


def test_sizing_from_risk_percent() -> None:
    rm = RiskManager(RiskLimits(), Balance())  # type: ignore[arg-type]
    sized = asyncio.run(rm.check_entry(entry(), []))
    # 1% of 10000 = 100 at risk over a 600 stop distance: 0.16666 BTC (step 0.00001)
    assert sized.quantity == Dec("0.16666")
    assert sized.notional == Dec("0.16666") * 60000


def test_daily_loss_limit_pauses_entries_until_the_next_utc_day() -> None:
    clock = Clock(DAY + 3600)
    rm = RiskManager(RiskLimits(daily_loss_limit_percent=Dec(5)), Balance(), clock=clock)  # type: ignore[arg-type]

    async def go() -> None:
        await rm.check_entry(entry(), [])
        await rm.on_trade_closed(1, Dec("-300"))
        await rm.check_entry(entry(), [])  # lost 300 of the 500 allowed (5% of 10000)
        await rm.on_trade_closed(1, Dec("-250"))
        with pytest.raises(RiskRefusal) as ei:
            await rm.check_entry(entry(), [])
        e = ei.value
        assert e.rule == "daily_loss_limit"
        assert e.numbers == {"daily_loss": "550", "limit": "500"}
        assert "until 2026-04-21T00:00:00Z" in e.detail
        clock.t = DAY + 86400 + 1  # the next UTC day
        await rm.check_entry(entry(), [])

    asyncio.run(go())


def test_drawdown_from_peak_blocks_until_an_admin_unblocks() -> None:
    rm = RiskManager(
        RiskLimits(max_drawdown_percent=Dec(10), daily_loss_limit_percent=Dec(50)),
        Balance(),  # type: ignore[arg-type]
        clock=Clock(DAY),
    )

    async def go() -> None:
        assert await rm.on_trade_closed(1, Dec("1000")) is None  # peak 11000
        assert await rm.on_trade_closed(1, Dec("-1000")) is None  # 10000: 9.0909% down
        ev = await rm.on_trade_closed(1, Dec("-200"))  # 9800: 1200 / 11000 = 10.9091%
        assert ev is not None
        assert (ev.equity, ev.peak, ev.drawdown_percent, ev.limit_percent) == (
            "9800",
            "11000",
            "10.9091",
            "10",
        )
        with pytest.raises(RiskRefusal) as ei:
            await rm.check_entry(entry(), [])
        assert ei.value.rule == "max_drawdown" and "10.9091%" in ei.value.detail
        assert await rm.unblock(1) == [1]
        await rm.check_entry(entry(), [])
        assert rm.state(1).peak_equity == Dec(9800)  # the peak restarts from now

    asyncio.run(go())


def test_leverage_above_the_maximum_is_refused() -> None:
    rm = RiskManager(RiskLimits(max_leverage=Dec(1)), Balance())  # type: ignore[arg-type]
    req = entry()
    from dataclasses import replace

    with pytest.raises(RiskRefusal) as ei:
        asyncio.run(rm.check_entry(replace(req, leverage=Dec(2)), []))
    assert ei.value.rule == "max_leverage"
    assert ei.value.numbers == {"leverage": "2", "max_leverage": "1"}
