"""The hook of the parity test: a backtest's trades in the form live trading records them.

Issue 6, section 4: a replay of a data file through the live pipeline
(simulator plus paper trading) must produce the same trades as the backtest
of the same file. The paper-trading side is built in the trade engine; once
it exists, ``tests/backtest/test_parity_with_live.py`` replays the file
through it, normalises its trades with :func:`normalise` and compares them
with :func:`backtest_trades` of the same file and configuration.

Both sides share the Rust decision code (``MarketEngine``), the sizing
(``size_position``), the ``StopTracker`` and the ``FillModel``; what the
comparison checks is the glue: time alignment, latency, and the order in
which a candle's events are applied (see ``core/src/backtest/engine.rs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from avd.backtest.runner import Backtest, ConfigSource

#: The fields both sides must agree on, trade by trade.
PARITY_FIELDS = ("symbol", "side", "entry_time", "entry_price", "qty", "exit_price", "reason")


def normalise(trades: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Trades as comparable tuples, sorted by entry time then symbol.

    Prices and quantities are rounded to 8 decimals (Binance's precision).
    """
    out = []
    for t in trades:
        row = []
        for f in PARITY_FIELDS:
            v = t[f]
            row.append(round(float(v), 8) if isinstance(v, float) else v)
        out.append(tuple(row))
    return sorted(out, key=lambda r: (r[2], r[0]))


def backtest_trades(
    data: Iterable[str | Path], config: ConfigSource = None
) -> list[tuple[Any, ...]]:
    """The backtest's trades of candle files, normalised for the parity comparison."""
    result = Backtest(config).run(*data)
    return normalise(result.trade_records())
