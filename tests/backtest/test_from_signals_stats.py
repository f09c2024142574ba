"""``from_signals``' statistics (taken inside its one pass over the bars)
against an independent numpy computation over the equity curve it returns,
and its price check (done strip by strip) on bad prices anywhere."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avd.backtest import from_signals
from avd.exceptions import InvalidInputError
from avd.history import read_candles

PPY = 365 * 24


def sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


@pytest.fixture(scope="module")
def btc_1h(shared_data: Path) -> dict[str, np.ndarray]:
    c = read_candles(shared_data / "BTCUSDT-1h.csv.gz").tail(6000)
    fast, slow = sma(c.close, 10), sma(c.close, 30)
    return {
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": c.close,
        "entries": crossover(fast, slow),
        "exits": crossover(slow, fast),
    }


def numpy_stats(equity: np.ndarray, init: float, ppy: float) -> dict[str, float]:
    """The documented definitions (core/src/backtest/stats.rs), in numpy."""
    prev = np.concatenate([[init], equity[:-1]])
    rets = equity / prev - 1
    peak = np.maximum.accumulate(np.concatenate([[init], equity]))[1:]
    cagr = (equity[-1] / init) ** (ppy / len(equity)) - 1
    mdd = float(np.max(1 - equity / peak))
    return {
        "total_return": equity[-1] / init - 1,
        "cagr": cagr,
        "sharpe": rets.mean() / rets.std(ddof=1) * math.sqrt(ppy),
        "sortino": rets.mean() / math.sqrt(np.mean(np.minimum(rets, 0) ** 2)) * math.sqrt(ppy),
        "max_drawdown": mdd,
        "calmar": cagr / mdd,
        "final_equity": float(equity[-1]),
    }


@pytest.mark.parametrize(
    "options",
    [{}, {"sl": 0.02, "tp": 0.04}, {"trailing": 0.03}],
    ids=["signals", "stop_and_target", "trailing"],
)
def test_statistics_match_numpy_over_the_returned_curve(
    btc_1h: dict[str, np.ndarray], options: dict[str, float]
) -> None:
    r = from_signals(**btc_1h, fee=0.001, init_cash=10_000.0, periods_per_year=PPY, **options)
    assert len(r.trades) > 50 and len(r.equity) == len(btc_1h["close"])
    ref = numpy_stats(r.equity, 10_000.0, PPY)
    for k, v in ref.items():
        assert r.stats[k] == pytest.approx(v, rel=1e-9), k
    # the same divisions in the same order: the drawdown is the exact one
    assert r.stats["max_drawdown"] == ref["max_drawdown"]
    pnl = r.trades.pnl
    assert r.stats["win_rate"] == pytest.approx(float(np.mean(pnl > 0)), rel=1e-12)
    assert r.stats["expectancy"] == pytest.approx(float(pnl.mean()), rel=1e-9)
    in_market = sum(int(x - e) for e, x in zip(r.trades.entry_bar, r.trades.exit_bar, strict=True))
    assert r.stats["exposure"] == pytest.approx(in_market / len(r.equity), abs=2 / len(r.equity))
    # the equity ends at the initial cash plus every trade's net pnl
    assert r.equity[-1] == pytest.approx(10_000.0 + pnl.sum(), rel=1e-12)


def test_exit_reasons_name_what_closed_each_trade(btc_1h: dict[str, np.ndarray]) -> None:
    r = from_signals(**btc_1h, fee=0.001, sl=0.01, tp=0.03)
    reasons = set(r.trades.exit_reason)
    assert (
        {"stop_loss", "take_profit", "signal"}
        <= reasons
        <= {
            "signal",
            "stop_loss",
            "take_profit",
            "end_of_data",
        }
    )
    low, high = btc_1h["low"], btc_1h["high"]
    for row in r.trades.records():
        entry, bar = row["entry_price"], row["exit_bar"]
        if row["exit_reason"] == "stop_loss":
            assert low[bar] <= entry * 0.99 + 1e-9
        elif row["exit_reason"] == "take_profit":
            assert high[bar] >= entry * 1.03 - 1e-9


def test_each_call_returns_its_own_equity_curve(btc_1h: dict[str, np.ndarray]) -> None:
    a = from_signals(**btc_1h, fee=0.001)
    kept = a.equity.copy()
    b = from_signals(**btc_1h, fee=0.002)
    assert a.equity is not b.equity
    np.testing.assert_array_equal(a.equity, kept)
    assert not np.array_equal(a.equity, b.equity)


@pytest.mark.parametrize("column", ["open", "high", "low", "close"])
@pytest.mark.parametrize("bar", [0, 255, 256, 1000, 5999])
@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -0.0, -3.0])
def test_a_bad_price_anywhere_is_refused_naming_it(
    btc_1h: dict[str, np.ndarray], column: str, bar: int, bad: float
) -> None:
    cols = dict(btc_1h)
    cols[column] = btc_1h[column].copy()
    cols[column][bar] = bad
    with pytest.raises(InvalidInputError, match=f"at bar {bar} of `{column}`"):
        from_signals(**cols, fee=0.001)
