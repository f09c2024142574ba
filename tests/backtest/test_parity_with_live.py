"""Parity with live (issue 6, section 4): the backtest side of the comparison.

The live side (replay the file through the simulator + paper trading, collect
the closed trades, assert ``normalise(paper_trades) == backtest_trades(...)``)
is not written yet: the paper entry price rule and the equity source must
first be made the backtester's (see the issue 6 note).
"""

from __future__ import annotations

from pathlib import Path

from avd.backtest.parity import PARITY_FIELDS, backtest_trades, normalise


def test_backtest_side_of_the_parity_comparison_is_ready(shared_data: Path) -> None:
    trades = backtest_trades([shared_data / "BTCUSDT-1h.csv.gz"])
    assert trades, "the 1h BTC history produces trades with the default strategy"
    assert all(len(t) == len(PARITY_FIELDS) for t in trades)
    assert normalise([dict(zip(PARITY_FIELDS, t, strict=True)) for t in trades]) == trades
