"""Order flow against pandas on the recorded BTCUSDT trades, and hand-worked VPIN.

``ticks/BTCUSDT-trades-2024-08-08.csv.gz`` holds every trade of ≈11 minutes
(``is_buyer_maker`` true = a taker sell); aggregated per minute they
reproduce Binance's 1m klines (data README), so the taker-buy volume per
minute computed here with pandas is the kline's field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avd.orderflow import OrderFlow, candle_cvd, candle_delta, cvd

TRADES = "ticks/BTCUSDT-trades-2024-08-08.csv.gz"
MINUTE = 60_000
LARGE = 50_000.0  # USDT notional


@pytest.fixture(scope="module")
def trades(shared_data: Path) -> pd.DataFrame:
    df = pd.read_csv(shared_data / TRADES)
    assert len(df) == 19904
    assert df["is_buyer_maker"].dtype == bool
    return df


@pytest.fixture(scope="module")
def per_minute(trades: pd.DataFrame) -> pd.DataFrame:
    """Per-minute flow of the trades, with pandas."""
    df = trades.assign(
        minute=trades["time"] // MINUTE * MINUTE,
        buy=np.where(trades["is_buyer_maker"], 0.0, trades["qty"]),
        sell=np.where(trades["is_buyer_maker"], trades["qty"], 0.0),
        large=trades["price"] * trades["qty"] >= LARGE,
    )
    g = df.groupby("minute")
    out = pd.DataFrame(
        {
            "volume": g["qty"].sum(),
            "taker_buy": g["buy"].sum(),
            "sell": g["sell"].sum(),
            "buy_trades": g["is_buyer_maker"].apply(lambda m: int((~m).sum())),
            "sell_trades": g["is_buyer_maker"].apply(lambda m: int(m.sum())),
            "large_buys": df[df["large"] & ~df["is_buyer_maker"]].groupby("minute").size(),
            "large_sells": df[df["large"] & df["is_buyer_maker"]].groupby("minute").size(),
        }
    ).fillna({"large_buys": 0, "large_sells": 0})
    out["delta"] = out["taker_buy"] - out["sell"]
    out["cvd"] = out["delta"].cumsum()
    return out


def test_cvd_matches_pandas_on_the_recorded_trades(trades: pd.DataFrame) -> None:
    expected = trades["qty"].where(~trades["is_buyer_maker"], -trades["qty"]).cumsum()
    got = cvd(trades["qty"], trades["is_buyer_maker"])
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=1e-9)
    assert got[-1] == pytest.approx(expected.iloc[-1], abs=1e-9)


def test_streaming_flow_per_candle_matches_pandas(
    trades: pd.DataFrame, per_minute: pd.DataFrame
) -> None:
    flow = OrderFlow("1m", vpin_bucket_volume=5.0, vpin_window=10, large_trade_notional=LARGE)
    closed = 0
    for t, p, q, m in zip(
        trades["time"], trades["price"], trades["qty"], trades["is_buyer_maker"], strict=True
    ):
        closed += flow.update(int(t), float(p), float(q), bool(m))
    closed += flow.flush(int(per_minute.index[-1]) + MINUTE)
    assert closed == len(per_minute) == 12  # a partial minute at each end, 10 complete ones
    assert flow.trades == len(trades)
    assert flow.late_trades == 0
    got = pd.DataFrame(flow.candles()).set_index("open_time")
    assert list(got.index) == list(per_minute.index)
    for col in ("volume", "delta", "cvd"):
        np.testing.assert_allclose(got[col], per_minute[col], rtol=0, atol=1e-9, err_msg=col)
    np.testing.assert_allclose(got["buy_volume"], per_minute["taker_buy"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["sell_volume"], per_minute["sell"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        got["imbalance"], per_minute["delta"] / per_minute["volume"], rtol=1e-9
    )
    for col in ("buy_trades", "sell_trades", "large_buys", "large_sells"):
        assert got[col].tolist() == per_minute[col].astype(int).tolist(), col
    assert per_minute["large_buys"].sum() > 0 and per_minute["large_sells"].sum() > 0
    assert (got["close_time"] == got.index + MINUTE - 1).all()
    assert flow.cvd == pytest.approx(per_minute["cvd"].iloc[-1], abs=1e-9)


def test_vpin_of_the_recorded_trades_matches_a_two_pass_bucketing(trades: pd.DataFrame) -> None:
    """Buckets filled by cumulative volume (a second, independent formulation)."""
    v, n = 2.0, 20
    flow = OrderFlow("1m", vpin_bucket_volume=v, vpin_window=n)
    for t, p, q, m in zip(
        trades["time"], trades["price"], trades["qty"], trades["is_buyer_maker"], strict=True
    ):
        flow.update(int(t), float(p), float(q), bool(m))
    # the buy volume inside bucket k is the length of [k·V, (k+1)·V) covered by buy trades
    qty = trades["qty"].to_numpy()
    buy = ~trades["is_buyer_maker"].to_numpy()
    end = np.cumsum(qty)
    start = end - qty
    total = end[-1]
    complete = int(total // v)
    imbalances = []
    for k in range(complete - n, complete):
        lo, hi = k * v, (k + 1) * v
        overlap = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
        b = overlap[buy].sum()
        s = overlap[~buy].sum()
        imbalances.append(abs(s - b))
    expected = sum(imbalances) / (n * v)
    assert flow.vpin == pytest.approx(expected, abs=1e-6)


def test_kline_delta_matches_the_trades_of_the_ten_complete_minutes(
    per_minute: pd.DataFrame,
) -> None:
    complete = per_minute.iloc[1:-1]  # the first and last minutes are partial
    assert len(complete) == 10
    klines = complete[["volume", "taker_buy"]]  # what Binance's 1m klines carry for these minutes
    delta = candle_delta(klines["volume"], klines["taker_buy"])
    np.testing.assert_allclose(delta, complete["delta"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        candle_cvd(klines["volume"], klines["taker_buy"]), complete["delta"].cumsum(), atol=1e-9
    )


def test_kline_delta_nan_rows_and_bad_input() -> None:
    d = candle_delta([10.0, 4.0, 6.0], [7.0, np.nan, 1.0])
    assert d[0] == 4.0 and np.isnan(d[1]) and d[2] == -4.0
    c = candle_cvd([10.0, 4.0, 6.0], [7.0, np.nan, 1.0])
    assert c[0] == 4.0 and np.isnan(c[1]) and c[2] == 0.0
    with pytest.raises(ValueError, match="taker_buy_volume 3 exceeds volume 2 at index 0"):
        candle_delta([2.0], [3.0])
    with pytest.raises(ValueError, match="different lengths"):
        candle_cvd([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="index 1"):
        candle_delta([1.0, -2.0], [0.0, 0.0])


def test_vpin_hand_worked_buckets() -> None:
    # V = 10, window 2. buy 4 then sell 8: bucket 1 = 4 buy / 6 sell, 2 sell carried;
    # buy 8: bucket 2 = 2 sell / 8 buy. VPIN = (|6-4| + |2-8|) / (2·10) = 0.4
    flow = OrderFlow("1m", vpin_bucket_volume=10.0, vpin_window=2)
    flow.update(0, 100.0, 4.0, False)
    flow.update(1, 100.0, 8.0, True)
    assert flow.vpin is None
    flow.update(2, 100.0, 8.0, False)
    assert flow.vpin == 0.4
    flow.update(3, 100.0, 5.0, True)  # bucket 3 half full: no change
    assert flow.vpin == 0.4
    # a buy of 25: bucket 3 = 5 sell / 5 buy (0), then two full buy buckets (10 each)
    flow.update(4, 100.0, 25.0, False)
    assert flow.vpin == 1.0
    assert flow.current()["vpin"] == 1.0


def test_streaming_flow_empty_minutes_flush_and_bad_input() -> None:
    flow = OrderFlow("1m", vpin_bucket_volume=1.0, large_trade_notional=1000.0)
    assert flow.current() is None
    flow.update(5_000, 100.0, 10.0, False)  # large buy (1000)
    flow.update(6_000, 100.0, 3.0, True)
    assert flow.update(3 * MINUTE + 1, 100.0, 1.0, True) == 3  # minute 0 and two empty ones
    c = flow.candles()
    assert [x["open_time"] for x in c] == [0, MINUTE, 2 * MINUTE]
    assert (c[0]["delta"], c[0]["large_buys"], c[0]["large_sells"], c[0]["buy_trades"]) == (
        7.0,
        1,
        0,
        1,
    )
    assert (c[1]["volume"], c[1]["cvd"], c[1]["imbalance"]) == (0.0, 7.0, None)
    assert flow.candles(1) == [c[2]]
    assert flow.flush(4 * MINUTE) == 1
    assert flow.current()["open_time"] == 4 * MINUTE
    with pytest.raises(ValueError, match="price"):
        flow.update(1, 0.0, 1.0, True)
    with pytest.raises(ValueError, match="quantity"):
        flow.update(1, 1.0, -1.0, True)
    with pytest.raises(ValueError, match="bucket_volume"):
        OrderFlow("1m", vpin_bucket_volume=0.0)
    with pytest.raises(ValueError, match="interval"):
        OrderFlow("7x", vpin_bucket_volume=1.0)
    with pytest.raises(ValueError, match="different lengths"):
        cvd([1.0, 2.0], [True])
    with pytest.raises(ValueError, match="index 0"):
        cvd([-1.0], [True])
    with pytest.raises(TypeError, match="booleans"):
        cvd([1.0], ["yes"])
