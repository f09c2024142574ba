from __future__ import annotations

from decimal import Decimal as Dec

import pytest

from avd.exceptions import InvalidInputError, InvalidParameterError
from avd.trading import Execution, FillModel, FilterViolation, SymbolFilters


def run(model: FillModel, *args: object, **kwargs: object) -> Execution:
    ex = model.execute(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(ex, Execution), ex
    return ex


def test_filters_from_exchange_info(btc: SymbolFilters) -> None:
    assert (btc.tick_size, btc.step_size) == (Dec("0.01"), Dec("0.00001"))
    assert (btc.min_qty, btc.max_qty) == (Dec("0.00001"), Dec("9000"))
    assert (btc.min_notional, btc.max_notional) == (Dec("5"), Dec("9000000"))
    assert (btc.price_scale, btc.qty_scale) == (2, 5)
    assert btc.to_ticks(Dec("64000")) == 6_400_000
    assert btc.from_steps(1000) == Dec("0.01")


def test_buy_taker_fee_is_charged_in_the_base_asset(btc: SymbolFilters) -> None:
    # 0.01 BTC x 0.1% = 0.00001 BTC.
    assert FillModel().fee(btc, "BUY", Dec("64000"), Dec("0.01")) == Dec("0.00001")
    # SELL: 640 USDT x 0.1% = 0.64 USDT; BNB discount (x 3/4): 0.48 USDT.
    assert FillModel().fee(btc, "SELL", Dec("64000"), Dec("0.01"), maker=True) == Dec("0.64")
    assert FillModel(bnb_discount=True).fee(btc, "SELL", "64000", "0.01") == Dec("0.48")
    # Custom schedule: 7.5 bps taker on 640 USDT = 0.48.
    assert FillModel(taker_bps="7.5").fee(btc, "SELL", "64000", "0.01") == Dec("0.48")


def test_market_fill_after_latency_with_its_commission(btc: SymbolFilters) -> None:
    # Sent at 1000 + 250 ms latency: the first point at >= 1250 is 64002.
    model = FillModel(latency_ms=250)
    points = [
        (1100, Dec("64000")),
        (1249, Dec("64001")),
        (1250, Dec("64002")),
        (1300, Dec("64003")),
    ]
    ex = run(model, btc, "BUY", Dec("0.01"), 1000, points=points)
    assert ex.status == "FILLED"
    (fill,) = ex.fills
    assert (fill.ts, fill.price, fill.qty) == (1250, Dec("64002"), Dec("0.01"))
    assert (fill.liquidity, fill.commission, fill.commission_asset) == (
        "TAKER",
        Dec("0.00001"),
        "BASE",
    )


def test_fixed_slippage(btc: SymbolFilters) -> None:
    # 5 bps: 64000 x 1.0005 = 64032 for a BUY; x 0.9995 = 63968 for a SELL.
    model = FillModel(slippage_bps=5)
    assert run(model, btc, "BUY", "0.01", 0, points=[(0, "64000")]).fills[0].price == Dec("64032")
    assert run(model, btc, "SELL", "0.01", 0, points=[(0, "64000")]).fills[0].price == Dec("63968")


def test_volume_share_slippage(btc: SymbolFilters) -> None:
    # impact 1000 bps for a whole bar, cap 50 bps. Bar volume 100 BTC.
    model = FillModel(volume_impact_bps=1000, volume_cap_bps=50)
    candle = (0, 59_999, "64000", "64100", "63900", "64050", "100")
    # 0.5 BTC = 0.5% of the bar: 5 bps -> 64000 x 1.0005 = 64032.
    ex = run(model, btc, "BUY", "0.5", 0, candles=[candle])
    assert ex.fills[0].price == Dec("64032")
    # 10 BTC = 10%: 100 bps, capped at 50 -> 64000 x 0.995 = 63680.
    ex = run(model, btc, "SELL", "10", 0, candles=[candle])
    assert ex.fills[0].price == Dec("63680")


def test_limit_fills_at_its_price_only_when_traded_through(btc: SymbolFilters) -> None:
    touch = [(0, "64000"), (1, "63950"), (2, "63960")]
    through = [(0, "64000"), (1, "63950"), (2, "63949.99")]
    ex = run(FillModel(), btc, "BUY", "0.01", 0, order_type="LIMIT", price="63950", points=touch)
    assert (ex.status, ex.fills) == ("NEW", [])
    ex = run(FillModel(), btc, "BUY", "0.01", 0, order_type="LIMIT", price="63950", points=through)
    (fill,) = ex.fills
    assert (fill.ts, fill.price, fill.is_maker) == (2, Dec("63950"), True)
    ex = run(
        FillModel(limit_fill="touch"),
        btc,
        "BUY",
        "0.01",
        0,
        order_type="LIMIT",
        price="63950",
        points=touch,
    )
    assert ex.fills[0].ts == 1


def test_limit_partial_fills_with_a_volume_share_cap(btc: SymbolFilters) -> None:
    # SELL 3 BTC at 64100, at most 10% of a bar: 1 BTC of a 10 BTC bar,
    # then the 2 left in a 50 BTC bar.
    model = FillModel(max_volume_share_bps=1000)
    candles = [
        (0, 59_999, "64000", "64150", "63900", "63950", "10"),
        (60_000, 119_999, "63950", "64050", "63900", "64000", "10"),
        (120_000, 179_999, "64000", "64200", "63990", "64100", "50"),
    ]
    ex = run(model, btc, "SELL", "3", 0, order_type="LIMIT", price="64100", candles=candles)
    assert [(f.ts, f.price, f.qty) for f in ex.fills] == [
        (19_999, Dec("64100"), Dec("1")),
        (159_999, Dec("64100"), Dec("2")),
    ]
    # 1 BTC x 64100 x 0.1% = 64.1 USDT.
    assert ex.fills[0].commission == Dec("64.1")


def test_stop_limit_triggers_then_becomes_a_limit(btc: SymbolFilters) -> None:
    # Bullish candle: 64000 -> 63450 -> 64100 -> 64050 crosses the 63500
    # stop on the way down: triggered at 63500, the 63400 limit takes there.
    ex = run(
        FillModel(),
        btc,
        "SELL",
        "0.01",
        0,
        order_type="STOP_LOSS_LIMIT",
        stop_price="63500",
        price="63400",
        candles=[(0, 59_999, "64000", "64100", "63450", "64050", "5")],
    )
    assert ex.triggered
    assert (ex.fills[0].price, ex.fills[0].liquidity) == (Dec("63500"), "TAKER")


def test_paper_order_fed_one_price_at_a_time(btc: SymbolFilters) -> None:
    order = FillModel(latency_ms=100).submit(
        btc, "BUY", "0.01", 1_000, order_type="LIMIT", price="63000"
    )
    assert order.arrive_at == 1_100
    assert order.on_price(1_050, "62000") is None  # not at the exchange yet
    assert order.on_price(1_100, "63100") is None  # rests
    fill = order.on_price(1_200, "62999.99")
    assert fill is not None and fill.price == Dec("63000") and fill.is_maker
    assert order.status == "FILLED" and order.remaining == 0


def test_rounding_and_filter_reasons(btc: SymbolFilters) -> None:
    assert btc.round_qty(Dec("0.123456789")) == Dec("0.12345")
    assert btc.round_price(Dec("64000.005"), side="BUY") == Dec("64000.00")
    assert btc.round_price(Dec("64000.005"), side="SELL") == Dec("64000.01")
    assert btc.check(Dec("64000"), Dec("0.001")) is None
    v = btc.check(Dec("64000"), Dec("0.000001"))
    assert isinstance(v, FilterViolation)
    assert (v.filter, str(v)) == (
        "LOT_SIZE",
        "LOT_SIZE: quantity 0.000001 is not a multiple of stepSize 0.00001",
    )
    v = btc.check(Dec("64000.001"), Dec("0.001"))
    assert v is not None and v.filter == "PRICE_FILTER"
    v = btc.check(Dec("64000"), Dec("0.00007"))
    assert v is not None and v.filter == "NOTIONAL"
    assert v.detail == "notional 4.48 (price 64000.00 x quantity 0.00007) is below minNotional 5"
    refused = FillModel().execute(
        btc, "BUY", "0.00007", 0, order_type="LIMIT", price="64000", points=[]
    )
    assert isinstance(refused, FilterViolation) and refused.filter == "NOTIONAL"


def test_floats_are_refused_for_money(btc: SymbolFilters) -> None:
    with pytest.raises(InvalidInputError, match="floats are not accepted"):
        btc.to_ticks(64000.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        SymbolFilters("0", "0.1")
    with pytest.raises(InvalidParameterError):
        FillModel(intrabar="sideways")


def test_stop_market_order_fed_one_price_at_a_time(btc: SymbolFilters) -> None:
    # A protective SELL stop at 63000: 63100 does not trigger; a gap to
    # 62900 triggers and takes there (not at 63000), 5 bps slippage down:
    # 62900 x 0.9995 = 62868.55.
    order = FillModel(slippage_bps=5).submit(
        btc, "SELL", "0.01", 0, order_type="STOP_LOSS", stop_price="63000"
    )
    assert order.on_price(1, "63100") is None and not order.triggered
    fill = order.on_price(2, "62900")
    assert fill is not None and order.triggered
    assert (fill.price, fill.liquidity) == (Dec("62868.55"), "TAKER")
    # SELL: commission in USDT, 628.6855 x 0.1% = 0.6286855 -> up to 0.62868550.
    assert (fill.commission, fill.commission_asset) == (Dec("0.6286855"), "QUOTE")
