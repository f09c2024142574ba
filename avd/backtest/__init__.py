"""Backtesting: signal arrays (:func:`from_signals`) and their statistics."""

from avd.backtest.signals import SignalBacktestResult, Trades, from_signals

__all__ = ["SignalBacktestResult", "Trades", "from_signals"]
