"""The strategy backtester through the Python API.

Expected values are worked out by hand (in the comments) or recomputed with
numpy, never taken from the code under test.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avd.backtest import Backtest
from avd.exceptions import ConfigError, InvalidInputError
from avd.history import Candles

T0 = 1_700_000_040_000 - 1_700_000_040_000 % 60_000
FILTERS = {"tick_size": 0.01, "step_size": 0.001, "min_notional": 5}


def candles(
    rows: list[tuple[float, float, float, float]],
    t0: int = T0,
    step: int = 60_000,
    interval: str = "1m",
) -> Candles:
    n = len(rows)
    a = np.array(rows, dtype=np.float64).reshape(n, 4)
    nan = np.full(n, np.nan)
    return Candles(
        "TESTUSDT",
        interval,
        np.arange(n, dtype=np.int64) * step + t0,
        *(np.ascontiguousarray(a[:, k]) for k in range(4)),
        np.full(n, 1000.0),
        nan,
        nan,
        nan,
    )


# Flat at 100; a BUY at bar 2's close; bar 3 opens at 101; bar 5 spans 90..112.
ROWS = [
    (100.0, 100.5, 99.5, 100.0),
    (100.0, 100.5, 99.5, 100.0),
    (100.0, 100.5, 99.5, 100.0),
    (101.0, 103.0, 100.0, 102.0),
    (102.0, 102.5, 100.5, 101.0),
    (101.0, 112.0, 90.0, 105.0),
    (105.0, 106.0, 104.0, 105.0),
]
BUY_AT_2 = np.array([0, 0, 1, 0, 0, 0, 0], dtype=np.int8)


def config(**over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"stops": {"stop_atr": 0, "stop_pct": 10}, "default_filters": FILTERS}
    for k, v in over.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    return cfg


def one_trade(cfg: dict[str, Any], lower: list[Candles] | None = None) -> dict[str, Any]:
    r = Backtest(cfg).run(candles(ROWS), lower=lower or [], signals={"TESTUSDT": BUY_AT_2})
    assert r.n_trades == 1
    return r.trade_records()[0]


def test_fees_slippage_and_latency_match_hand_computation() -> None:
    # 1 % of 10 000 over a 10 % stop at the signal close 100 → 10 units
    # bought at 101 (next open); the 0.1 % commission is 0.01 unit of them,
    # so 9.99 are held (fee 0.01 x 101 = 1.01). Stop 91, hit in bar 5: out
    # 0.1 % x 9.99 x 91 = 0.90909; gross -10 x 9.99 → pnl -101.81909.
    t = one_trade(config())
    assert (t["entry_price"], t["exit_price"], t["qty"], t["reason"]) == (
        101.0,
        91.0,
        9.99,
        "stop_loss",
    )
    assert t["fees"] == pytest.approx(1.91909) and t["pnl"] == pytest.approx(-101.81909)
    # Taker fee 7.5 bps, maker irrelevant: 0.0075 unit of commission leaves
    # 9.9925, so 9.992 held (down to the 0.001 step); the fee is the
    # commission, 0.0075 x 101 = 0.7575 (the 0.0005 below the step stays on
    # the account as dust, not a fee); out 0.00075 x 9.992 x 91 = 0.681954.
    t = one_trade(config(fills={"taker_bps": 7.5}))
    assert t["qty"] == 9.992
    assert t["fees"] == pytest.approx(0.7575 + 0.681954)
    # 5 bps slippage: 101 x 1.0005 = 101.0505 → 101.06; stop 91.06;
    # 91.06 x 0.9995 = 91.01447 → 91.01.
    t = one_trade(config(fills={"slippage_bps": 5}))
    assert (t["entry_price"], t["exit_price"]) == (101.06, 91.01)
    # 30 s latency: arrives at bar 3 + 29.999 s; the bar's path
    # 101 (+0) → 100 (+19.999 s) → 103 (+39.999 s) → 102 prices it at 103.
    t = one_trade(config(fills={"latency_ms": 30_000}))
    assert (t["entry_price"], t["entry_time"]) == (103.0, T0 + 3 * 60_000 + 39_999)


def test_intrabar_worst_case_without_and_finer_candles_with_a_lower_timeframe() -> None:
    tp = {"stop_atr": 0, "stop_pct": 10, "take_profits": [{"r": 1, "fraction": 1}]}
    # Target 111 and stop 91 both inside bar 5 (90..112): worst case → stop.
    assert one_trade(config(stops=tp))["reason"] == "stop_loss"
    assert one_trade(config(stops=tp, intrabar="best"))["reason"] == "take_profit"
    t5 = T0 + 5 * 60_000
    up_first = candles([(101.0, 112.0, 101.0, 111.0), (111.0, 111.0, 90.0, 105.0)], t5, 1000, "1s")
    t = one_trade(config(stops=tp), lower=[up_first])
    assert (t["reason"], t["exit_price"]) == ("take_profit", 111.0)
    down_first = candles([(101.0, 101.0, 90.0, 95.0), (95.0, 112.0, 95.0, 105.0)], t5, 1000, "1s")
    assert one_trade(config(stops=tp), lower=[down_first])["reason"] == "stop_loss"


def independent_stats(
    equity: np.ndarray, pnl: np.ndarray, init: float, ppy: float
) -> dict[str, float]:
    rets = np.diff(np.concatenate([[init], equity])) / np.concatenate([[init], equity[:-1]])
    peak = np.maximum.accumulate(np.concatenate([[init], equity]))[1:]
    years = len(equity) / ppy
    cagr = (equity[-1] / init) ** (1 / years) - 1
    mdd = float(np.max(1 - equity / peak))
    return {
        "total_return": equity[-1] / init - 1,
        "cagr": cagr,
        "sharpe": rets.mean() / rets.std(ddof=1) * math.sqrt(ppy),
        "sortino": rets.mean() / math.sqrt(np.mean(np.minimum(rets, 0) ** 2)) * math.sqrt(ppy),
        "max_drawdown": mdd,
        "calmar": cagr / mdd,
        "win_rate": float(np.mean(pnl > 0)),
        "profit_factor": pnl[pnl > 0].sum() / -pnl[pnl < 0].sum(),
        "expectancy": float(pnl.mean()),
    }


def test_statistics_match_an_independent_numpy_calculation(shared_data: Path) -> None:
    r = Backtest().run(shared_data / "BTCUSDT-1h.csv.gz")
    ours = independent_stats(r.equity, np.asarray(r.trades["pnl"]), 10_000.0, 365 * 24)
    for k, v in ours.items():
        assert r.stats[k] == pytest.approx(v, rel=1e-9), k
    assert r.stats["trades"] == r.n_trades
    in_market = r.counters["bars_in_market"]
    assert r.stats["exposure"] == pytest.approx(in_market / len(r.equity))
    # The equity ends at the initial cash plus every trade's net pnl.
    assert r.equity[-1] == pytest.approx(10_000.0 + np.sum(r.trades["pnl"]), rel=1e-9)


def test_a_known_equity_curve_gives_the_known_statistics() -> None:
    # One long of 9.99 units (10 bought) from 101 to 91 with 1.91909 of
    # fees: the equity is 10 000 until the fill, then marked at each close
    # (bar 3 closes at 102: +9.99), and ends at 10 000 - 101.81909.
    r = Backtest(config()).run(candles(ROWS), signals={"TESTUSDT": BUY_AT_2})
    end = 10_000 - 101.81909
    expected = [10_000, 10_000, 10_000, 10_000 - 1.01 + 9.99, 10_000 - 1.01, end, end]
    np.testing.assert_allclose(r.equity, expected)
    dd = 1 - end / (10_000 - 1.01 + 9.99)
    assert r.stats["max_drawdown"] == pytest.approx(dd)
    assert r.stats["win_rate"] == 0.0 and r.stats["trades"] == 1


def test_real_data_multi_symbol_run_is_sane(shared_data: Path) -> None:
    files = [shared_data / f"{s}-1h.csv.gz" for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")]
    seen: list[int] = []
    r = Backtest({"max_positions": 2}).run(*files, on_progress=lambda d, n: seen.append(d))
    assert r.symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert seen[-1] == r.counters["candles"] == 42_824 * 2 + 16_770
    assert r.n_trades > 50 and set(r.trades["symbol"]) == set(r.symbols)
    s = r.stats
    assert 0 <= s["max_drawdown"] < 1 and 0 <= s["win_rate"] <= 1 and 0 < s["exposure"] <= 1
    assert all(math.isfinite(s[k]) for k in ("total_return", "sharpe", "sortino", "cagr"))
    assert np.all(r.equity > 0) and np.all(np.diff(r.times) > 0)
    # Long-only spot: never a short; every trade exits after it entered.
    assert set(r.trades["side"]) == {1}
    assert np.all(r.trades["exit_time"] >= r.trades["entry_time"])
    # At most two positions at once.
    events = sorted(
        [(t, 1) for t in r.trades["entry_time"]] + [(t, -1) for t in r.trades["exit_time"]],
        key=lambda e: (e[0], e[1]),
    )
    assert max(np.cumsum([e[1] for e in events])) <= 2


def test_sweep_is_identical_in_parallel_and_serially(shared_data: Path) -> None:
    spec = {
        "metric": "sharpe",
        "grid": {"stops.stop_atr": [1.5, 3.0], "engine.signals.entry_threshold": [65, 75]},
    }
    bt = Backtest()
    data = shared_data / "ETHUSDT-1h.csv.gz"
    one = bt.sweep(spec, data, threads=1)
    two = bt.sweep(spec, data, threads=2)
    assert one == two
    assert len(one["rows"]) == 4
    scores = [r["score"] for r in one["rows"]]
    assert scores == sorted(scores, reverse=True)
    # The sweep's best row is what a single run of that configuration gives.
    best = one["rows"][0]["values"]
    single = Backtest(
        {"stops": {"stop_atr": best[1]}, "engine": {"signals": {"entry_threshold": best[0]}}}
    ).run(data)
    assert single.stats["sharpe"] == pytest.approx(one["rows"][0]["stats"]["sharpe"])


def test_walk_forward_windows_are_contiguous_and_cover_the_span(shared_data: Path) -> None:
    spec = {
        "metric": "total_return",
        "grid": {"stops.stop_atr": [2, 3]},
        "walk_forward": {"train_bars": 6_000, "test_bars": 3_000},
    }
    c_path = shared_data / "SOLUSDT-1h.csv.gz"
    res = Backtest().walk_forward(spec, c_path)
    w = res["windows"]
    from avd.history import read_candles

    t = read_candles(c_path).open_time
    assert w[0]["train_start"] == t[0]
    assert w[0]["train_end"] == t[0] + 6_000 * 3_600_000
    for a, b in itertools.pairwise(w):
        assert b["train_end"] == a["test_end"]  # test windows follow without gap or overlap
    assert w[-1]["test_end"] == t[-1] + 3_600_000
    assert all(x["best"][0] in (2, 3) for x in w)


def test_bad_configuration_and_input_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown field `trail`"):
        Backtest({"stops": {"trail": 1}})
    with pytest.raises(ConfigError, match="risk_pct"):
        Backtest({"risk_pct": -1})
    bad = candles(ROWS)
    with pytest.raises(InvalidInputError, match="signals"):
        Backtest().run(bad, signals={"TESTUSDT": np.zeros(3, dtype=np.int8)})
    unsorted = Candles(
        "TESTUSDT",
        "1m",
        bad.open_time[::-1].copy(),
        bad.open,
        bad.high,
        bad.low,
        bad.close,
        bad.volume,
        bad.quote_volume,
        bad.trades,
        bad.taker_buy_base,
    )
    with pytest.raises(InvalidInputError, match="strictly rising"):
        Backtest().run(unsorted)
