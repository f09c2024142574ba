"""``from_signals`` agrees trade for trade with the real backtesting.py
package on real Binance candles: the same SMA(10)/SMA(30) crossover, the same
commission, fills at the next open."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy

from avd.backtest import from_signals
from avd.history import read_candles

COMMISSION = 0.001


def sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """backtesting.lib.crossover, bar by bar: a[-2] < b[-2] and a[-1] > b[-1]."""
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


class SmaCrossLong(Strategy):
    def init(self) -> None:
        self.fast = self.I(sma, self.data.Close, 10)
        self.slow = self.I(sma, self.data.Close, 30)

    def next(self) -> None:
        f, s = self.fast, self.slow
        if f[-2] < s[-2] and f[-1] > s[-1] and not self.position:
            self.buy()
        elif s[-2] < f[-2] and s[-1] > f[-1] and self.position:
            self.position.close()


@pytest.mark.parametrize(
    ("name", "bars"), [("BTCUSDT-1h", 6000), ("ETHUSDT-5m", 8000), ("XRPUSDT-1d", 2573)]
)
def test_sma_crossover_agrees_trade_for_trade(shared_data: Path, name: str, bars: int) -> None:
    c = read_candles(shared_data / f"{name}.csv.gz").tail(bars)
    df = pd.DataFrame(
        {"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close, "Volume": c.volume},
        index=pd.to_datetime(c.open_time, unit="ms"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backtesting.py's own notices are not ours to judge
        bt = Backtest(df, SmaCrossLong, cash=1e12, commission=COMMISSION, finalize_trades=False)
        ref = bt.run()._trades
    ref = ref[ref["ExitBar"].notna()]
    assert len(ref) > 20

    fast, slow = sma(c.close, 10), sma(c.close, 30)
    entries = crossover(fast, slow)
    exits = crossover(slow, fast)
    ours = from_signals(
        c.open, c.high, c.low, c.close, entries, exits, fee=COMMISSION, init_cash=1e12
    )
    t = ours.trades
    closed = np.array([r != "end_of_data" for r in t.exit_reason])
    assert closed.sum() == len(ref)
    np.testing.assert_array_equal(t.entry_bar[closed], ref["EntryBar"].to_numpy())
    np.testing.assert_array_equal(t.exit_bar[closed], ref["ExitBar"].to_numpy())
    np.testing.assert_array_equal(t.entry_price[closed], ref["EntryPrice"].to_numpy())
    np.testing.assert_array_equal(t.exit_price[closed], ref["ExitPrice"].to_numpy())
    np.testing.assert_allclose(t.return_pct[closed], ref["ReturnPct"].to_numpy(), rtol=0, atol=1e-9)
