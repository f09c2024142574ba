"""The risk manager by hand: sizing, caps, the daily loss limit and the drawdown block.

The equity is the trading account's, given as a number here (the trade
engine reads it from the paper or Binance account).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as Dec

import pytest

from avd.domain.errors import InvalidRequest
from avd.services.trade.risk import (
    EntryRequest,
    OpenExposure,
    RiskLimits,
    RiskManager,
)
from avd.trading import SymbolFilters

BTC = SymbolFilters("0.01", "0.00001", min_qty="0.00001", min_notional="5")
DAY = 1_776_643_200.0  # 2026-04-20T00:00:00Z
EQUITY = Dec(10000)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def entry(**kw: object) -> EntryRequest:
    base = EntryRequest(
        client_id=1,
        symbol="BTCUSDT",
        side="BUY",
        entry=Dec("60000"),
        stop=Dec("59400"),
        filters=BTC,
        risk_percent=Dec("1"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_sizing_from_risk_percent_of_the_account_equity() -> None:
    rm = RiskManager(RiskLimits())
    sized = rm.size(entry(), EQUITY, [])
    # 1% of 10000 = 100 at risk over a 600 stop distance: 0.16666 BTC (step 0.00001)
    assert sized.quantity == Dec("0.16666")
    assert sized.notional == Dec("0.16666") * 60000
    # the same entry on an account worth 2500: a quarter of it, down to the step
    assert rm.size(entry(), Dec(2500), []).quantity == Dec("0.04166")


def test_caps_count_what_is_held_and_pending() -> None:
    rm = RiskManager(RiskLimits(max_open_positions=3, max_exposure_per_symbol_percent=Dec(50)))
    held = [OpenExposure("BTCUSDT", Dec(3000)), OpenExposure("ETHUSDT", Dec(1000))]
    # 0.05 BTC at 60000 = 3000 more BTC: 6000 > 50% of 10000
    with pytest.raises(InvalidRequest) as ei:
        rm.size(entry(quantity=Dec("0.05")), EQUITY, held)
    assert ei.value.rule == "max_exposure_per_symbol"
    assert ei.value.numbers == {"exposure": "6000", "cap": "5000"}
    # 0.03 BTC = 1800: 4800 <= 5000, accepted
    assert rm.size(entry(quantity=Dec("0.03")), EQUITY, held).notional == Dec(1800)
    with pytest.raises(InvalidRequest) as ei:
        rm.size(entry(), EQUITY, [*held, OpenExposure("SOLUSDT", Dec(10))])
    assert ei.value.rule == "max_open_positions"
    assert ei.value.numbers == {"open_positions": "3", "max_open_positions": "3"}


def test_a_buy_needs_the_cash_to_pay_for_it() -> None:
    rm = RiskManager(RiskLimits())
    with pytest.raises(InvalidRequest) as ei:
        rm.size(entry(quantity=Dec("0.1"), cash=Dec("5000")), EQUITY, [])
    assert ei.value.rule == "insufficient_funds"
    assert ei.value.numbers == {"cost": "6000", "free": "5000"}


def test_daily_loss_limit_pauses_entries_until_the_next_utc_day() -> None:
    clock = Clock(DAY + 3600)
    rm = RiskManager(RiskLimits(daily_loss_limit_percent=Dec(5)), clock=clock)
    rm.gate(1, "paper", EQUITY)  # the day starts at 10000: the limit is 500
    assert rm.on_trade_closed(1, "paper", Dec("-300"), Dec(9700)) is None
    rm.gate(1, "paper", Dec(9700))  # lost 300 of the 500 allowed
    assert rm.on_trade_closed(1, "paper", Dec("-250"), Dec(9450)) is None
    with pytest.raises(InvalidRequest) as ei:
        rm.gate(1, "paper", Dec(9450))
    e = ei.value
    assert e.rule == "daily_loss_limit"
    assert e.numbers == {"daily_loss": "550", "limit": "500"}
    assert "until 2026-04-21T00:00:00Z" in e.detail
    clock.t = DAY + 86400 + 1  # the next UTC day: a new start at 9450
    rm.gate(1, "paper", Dec(9450))


def test_after_a_restart_the_day_starts_before_the_losses_already_booked() -> None:
    rm = RiskManager(RiskLimits(daily_loss_limit_percent=Dec(5)), clock=Clock(DAY + 7200))
    # restored: 480 lost today, the account is worth 9520 now → the day
    # started at 10000, the limit is 500, 20 more may be lost
    rm.restore(1, day_pnl=Dec(-480), peak_equity=Dec(10000), blocked=False, mode="paper")
    rm.gate(1, "paper", Dec(9520))
    rm.on_trade_closed(1, "paper", Dec(-20), Dec(9500))
    with pytest.raises(InvalidRequest) as ei:
        rm.gate(1, "paper", Dec(9500))
    assert ei.value.numbers == {"daily_loss": "500", "limit": "500"}


def test_drawdown_from_peak_blocks_until_an_admin_unblocks() -> None:
    rm = RiskManager(
        RiskLimits(max_drawdown_percent=Dec(10), daily_loss_limit_percent=Dec(50)),
        clock=Clock(DAY),
    )
    rm.gate(1, "paper", EQUITY)
    assert rm.on_trade_closed(1, "paper", Dec(1000), Dec(11000)) is None  # peak 11000
    assert rm.on_trade_closed(1, "paper", Dec(-1000), Dec(10000)) is None  # 9.0909% down
    ev = rm.on_trade_closed(1, "paper", Dec(-200), Dec(9800))  # 1200 / 11000 = 10.9091%
    assert ev is not None
    assert (ev.equity, ev.peak, ev.drawdown_percent, ev.limit_percent) == (
        "9800",
        "11000",
        "10.9091",
        "10",
    )
    with pytest.raises(InvalidRequest) as ei:
        rm.gate(1, "paper", Dec(9800))
    assert ei.value.rule == "max_drawdown" and "10.9091%" in ei.value.detail
    assert rm.unblock(1) == [1]
    rm.gate(1, "paper", Dec(9800))
    assert rm.state(1).peak_equity == Dec(9800)  # the peak restarts from now


def test_switching_account_restarts_the_peak() -> None:
    rm = RiskManager(RiskLimits(max_drawdown_percent=Dec(10)), clock=Clock(DAY))
    rm.gate(1, "paper", EQUITY)
    # a live account of 500 is not a 95% drawdown of the paper one
    rm.gate(1, "live", Dec(500))
    assert rm.state(1).peak_equity == Dec(500)
    st = rm.status(1, "live", Dec(480), [])
    assert (st.peak_equity, st.drawdown_percent) == (Dec(500), Dec("4.0000"))


def test_leverage_above_the_maximum_is_refused() -> None:
    rm = RiskManager(RiskLimits(max_leverage=Dec(1)))
    with pytest.raises(InvalidRequest) as ei:
        rm.size(entry(leverage=Dec(2)), EQUITY, [])
    assert ei.value.rule == "max_leverage"
    assert ei.value.numbers == {"leverage": "2", "max_leverage": "1"}
