"""``from_signals``: entry and exit boolean arrays, filled at the next open, in Rust.

The rules (fees on both sides, sizing, stops, the worst-case assumption when
a stop and a target share a bar, closing at the end) are documented in
``core/src/backtest/from_signals.rs``; the statistics in
``core/src/backtest/stats.rs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from avd import _core
from avd.types import FloatArray, IntArray, as_bool_array, as_float_array


@dataclass(frozen=True)
class Trades:
    """Closed trades, one row per trade, as numpy columns.

    ``return_pct`` is a fraction (0.05 = +5 %), net of both fees, over the
    entry notional: backtesting.py's ``ReturnPct``.
    """

    entry_bar: IntArray
    exit_bar: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    quantity: FloatArray
    pnl: FloatArray
    return_pct: FloatArray
    fees: FloatArray
    exit_reason: list[str]

    def __len__(self) -> int:
        return int(self.entry_bar.shape[0])

    def records(self) -> list[dict[str, Any]]:
        """The trades as a list of dicts."""
        return [
            {
                "entry_bar": int(self.entry_bar[i]),
                "exit_bar": int(self.exit_bar[i]),
                "entry_price": float(self.entry_price[i]),
                "exit_price": float(self.exit_price[i]),
                "quantity": float(self.quantity[i]),
                "pnl": float(self.pnl[i]),
                "return_pct": float(self.return_pct[i]),
                "fees": float(self.fees[i]),
                "exit_reason": self.exit_reason[i],
            }
            for i in range(len(self))
        ]


@dataclass(frozen=True)
class SignalBacktestResult:
    """What :func:`from_signals` returns."""

    trades: Trades
    #: equity marked at each bar's close
    equity: FloatArray
    #: total_return, cagr, sharpe, sortino, max_drawdown, calmar, win_rate,
    #: profit_factor, expectancy, expectancy_pct, exposure, trades,
    #: avg_trade_bars, final_equity (fractions, not percent)
    stats: dict[str, float]


def from_signals(
    open: Any,
    high: Any,
    low: Any,
    close: Any,
    entries: Any,
    exits: Any,
    *,
    fee: float = 0.001,
    init_cash: float = 10_000.0,
    size: float = 1.0,
    sl: float | None = None,
    tp: float | None = None,
    trailing: float | None = None,
    short_entries: Any = None,
    short_exits: Any = None,
    periods_per_year: float = 365.0,
) -> SignalBacktestResult:
    """Run entry/exit signals, filling at the next bar's open.

    Parameters
    ----------
    open, high, low, close
        Prices, one per bar.
    entries, exits
        Boolean arrays: a True on bar ``i`` buys (closes the long) at
        ``open[i + 1]``.
    fee
        Fraction of the notional paid on entry and on exit (0.001 = 0.1 %).
    init_cash
        Starting cash.
    size
        Fraction of equity committed per entry (fees included).
    sl, tp, trailing
        Stop-loss, take-profit and trailing stop as fractions of the entry
        price (of the peak for the trailing stop); None disables.
    short_entries, short_exits
        Optional boolean arrays for shorts (long-only without them).
    periods_per_year
        Bars per year, to annualise CAGR, Sharpe and Sortino (365 for daily
        bars, 525600 for 1m crypto bars).
    """
    o = as_float_array("open", open)
    trades, equity, stats = _core.from_signals(
        o,
        as_float_array("high", high),
        as_float_array("low", low),
        as_float_array("close", close),
        as_bool_array("entries", entries),
        as_bool_array("exits", exits),
        fee=fee,
        init_cash=init_cash,
        size=size,
        sl=sl,
        tp=tp,
        trailing=trailing,
        short_entries=None
        if short_entries is None
        else as_bool_array("short_entries", short_entries),
        short_exits=None if short_exits is None else as_bool_array("short_exits", short_exits),
        periods_per_year=periods_per_year,
        # numpy.empty: memory the allocator reuses from call to call (no
        # zeroing, no fresh page to fault in); the run writes every slot
        equity=np.empty(o.shape[0]),
    )
    return SignalBacktestResult(Trades(**trades), equity, stats)
