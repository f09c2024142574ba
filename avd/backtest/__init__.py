"""Backtesting: the strategy backtester, signal arrays, sweeps and reports.

:class:`Backtest` runs the live decision engine on history (with parameter
sweeps and walk-forward analysis); :func:`from_signals` runs signal arrays.
"""

from avd.backtest.runner import Backtest, BacktestResult, load_config
from avd.backtest.signals import SignalBacktestResult, Trades, from_signals

__all__ = [
    "Backtest",
    "BacktestResult",
    "SignalBacktestResult",
    "Trades",
    "from_signals",
    "load_config",
]
