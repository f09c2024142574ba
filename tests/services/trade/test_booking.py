"""The booking math by hand: an entry's commissions and cost, an exit's P&L and commission.

Every amount is kept to the 8 decimals the database holds, term by term, so
the trade's realized P&L is the sum of what its history records.
"""

from __future__ import annotations

from decimal import Decimal as Dec

from avd.exchange.exchange import OrderFill
from avd.services.trade.booking import (
    entry_commissions,
    entry_cost,
    exit_commission,
    exit_pnl,
)


def fill(price: str, qty: str, commission: str, asset: str) -> OrderFill:
    return OrderFill(Dec(price), Dec(qty), Dec(commission), asset, trade_id=1)


def test_a_buy_pays_its_commission_in_the_base_asset_or_the_quote() -> None:
    fills = [
        fill("60000", "0.001", "0.000001", "BTC"),
        fill("60001", "0.002", "0.000002", "BTC"),
        fill("60002", "0.001", "0.05", "USDT"),
        fill("60000", "0.001", "0.0001", "BNB"),  # neither: paid with BNB
    ]
    assert entry_commissions(fills, "BUY", "BTC", "USDT") == (Dec("0.000003"), Dec("0.05"))
    # a SELL entry (a short) never takes the commission out of the position
    assert entry_commissions(fills, "SELL", "BTC", "USDT") == (Dec(0), Dec("0.05"))


def test_the_entrys_cost_is_its_commission_valued_at_the_fill() -> None:
    # 100 USDT of BTC at 73 801.80: 0.00135 BTC bought, 0.1 % = 0.00000135 BTC
    # of commission, worth 0.00000135 * 73 801.80 = 0.09963243 USDT
    assert entry_cost(Dec("0.00000135"), Dec(0), Dec("73801.80")) == Dec("0.09963243")
    # 0.00000123 BTC at 61 234.56 = 0.0753185088, plus 0.12345678 USDT =
    # 0.1987752888, kept to 8 decimals (half to even): 0.19877529
    assert entry_cost(Dec("0.00000123"), Dec("0.12345678"), Dec("61234.56")) == Dec("0.19877529")


def test_an_exit_books_the_move_less_its_commission() -> None:
    # a long of 2 from 100 sold at 110 with 0.22 of commission: 20 - 0.22
    assert exit_pnl("BUY", Dec(100), Dec(110), Dec(2), Dec("0.22")) == Dec("19.78")
    # a short of 1 from 100 bought back at 90 with 0.09: 10 - 0.09
    assert exit_pnl("SELL", Dec(100), Dec(90), Dec(1), Dec("0.09")) == Dec("9.91")
    # a loss: 0.00499 BTC from 60 000.01 sold at 59 000.50 =
    # -999.51 * 0.00499 = -4.9875549; the exchange's commission 0.2944125
    assert exit_pnl(
        "BUY", Dec("60000.01"), Dec("59000.50"), Dec("0.00499"), Dec("0.2944125")
    ) == Dec("-5.2819674")


def test_each_term_of_an_exit_is_kept_to_8_decimals_before_the_difference() -> None:
    # move 0.000000015 -> 0.00000002 (half to even), commission 0.000000005 -> 0:
    # the history records 0.00000002, not the 0.00000001 of the raw difference
    pnl = exit_pnl("BUY", Dec(1), Dec("1.000000015"), Dec(1), Dec("0.000000005"))
    assert pnl == Dec("0.00000002")


def test_an_exits_commission_counts_what_was_paid_in_the_quote_asset() -> None:
    fills = [
        fill("110", "1", "0.1", "USDT"),
        fill("110", "0.5", "0.05", "USDT"),
        fill("110", "0.5", "0.001", "BNB"),
        fill("110", "0.5", "0.00001", "BTC"),
    ]
    assert exit_commission(fills, "USDT") == Dec("0.15")
    assert exit_commission([], "USDT") == 0
