from __future__ import annotations

from decimal import Decimal as Dec

from avd.trading import SymbolFilters, size_position


def test_one_percent_risk_over_a_thousand_dollar_stop(btc: SymbolFilters) -> None:
    # 10,000 USDT x 1% = 100 USDT at risk; |64000 - 63000| = 1000 -> 0.1 BTC.
    s = size_position(btc, "BUY", Dec("10000"), Dec("1"), Dec("64000"), Dec("63000"))
    assert s and s.accepted
    assert (s.qty, s.risk_qty, s.capped_by) == (Dec("0.1"), Dec("0.1"), None)
    assert (s.notional, s.risk_amount) == (Dec("6400"), Dec("100"))


def test_rounds_down_to_the_step_and_caps(btc: SymbolFilters) -> None:
    # 100 / 700 = 0.142857... -> 0.14285.
    assert size_position(btc, "BUY", "10000", "1", "64000", "63300").qty == Dec("0.14285")
    # Cash 5000 / 64000 = 0.078125 -> 0.07812.
    s = size_position(btc, "BUY", "10000", "1", "64000", "63000", cash="5000")
    assert (s.qty, s.capped_by) == (Dec("0.07812"), "CASH")
    s = size_position(btc, "BUY", "10000", "1", "64000", "63000", max_notional="3200")
    assert (s.qty, s.capped_by) == (Dec("0.05"), "MAX_POSITION_NOTIONAL")
    # A short: stop above; 100 / 1500 = 0.0666... -> 0.06666.
    assert size_position(btc, "SELL", "10000", "1", "64000", "65500").qty == Dec("0.06666")


def test_refusals_name_the_rule_and_the_numbers(btc: SymbolFilters) -> None:
    s = size_position(btc, "BUY", "10000", "1", "64000", "65000")
    assert not s
    assert s.rule == "STOP_SIDE"
    assert s.reason == "STOP_SIDE: a BUY entry at 64000.00 needs its stop below it, got 65000.00"
    # 5 x 1% / 1000 = 0.00005 BTC = 3.2 USDT < 5.
    s = size_position(btc, "BUY", "5", "1", "64000", "63000")
    assert (s.rule, s.qty) == ("NOTIONAL", Dec("0"))
    assert s.reason is not None and "notional 3.2 at 64000.00 is below minNotional 5" in s.reason
    s = size_position(btc, "BUY", "0.5", "1", "64000", "63000")
    assert s.rule == "LOT_SIZE"
    assert s.reason is not None and s.reason.endswith("gives 0.00000, below minQty 0.00001")
