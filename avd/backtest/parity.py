"""Parity with live trading: a backtest's trades and paper trading's, in one comparable form.

Issue 6, section 4: a replay of a data file through the live pipeline
(simulator plus paper trading) must produce the same trades as the backtest
of the same file. ``tests/backtest/test_parity_with_live.py`` runs both and
compares :func:`normalise` (and :func:`pnls`) of :func:`live_trades` and of
:func:`backtest_trades`.

Both sides run the same Rust code for decisions (``MarketEngine``), sizing
(``size_position``), stops (``StopTracker``) and fills (``FillModel``); the
glue agrees on these rules:

* a signal is decided at its candle's close and its market order fills at
  the first trade after it (plus latency): the next candle's open;
* a percent stop's distance is ``ceil(price x pct / 100)`` ticks from the
  signal's close, and the stop sits that far from the fill;
* a BUY's commission is taken in the base asset: the position holds the
  rest, down to the lot step; the base given up is the entry's fee;
* the spot account must pay for the fill (else the order is refused);
* a candle's pending fills and stops come before its signal; one position
  per symbol; a SELL signal closes a long at the next open;
* take-profits rest as limits (maker, at the level), other exits are taker.

:func:`live_config` maps the live settings onto a backtest configuration.
What the backtester does not model (so the comparison keeps it out of the
way): the risk manager's daily-loss pause and drawdown block, the platform
fee charged to the client's balance, chandelier stops (live uses its own
ATR(14), the backtest the engine's), time stops in minutes, forming-candle
prices (a replay with forming updates gives paper stops a finer path than
the candle file holds), and live-mode fills at the exchange's price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from avd.backtest.runner import Backtest, ConfigSource
from avd.domain.parameters import BotParameters
from avd.store import trades as repo
from avd.store.database import Database
from avd.trading import SymbolFilters

#: The fields both sides must agree on, trade by trade.
PARITY_FIELDS = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "qty",
    "exit_time",
    "exit_price",
    "reason",
)

#: the backtest's exit reasons in the live trade engine's words
_REASONS = {"break_even_stop": "break_even"}


def normalise(trades: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Closed trades as comparable tuples of :data:`PARITY_FIELDS`, in entry order.

    Prices and quantities are rounded to 8 decimals (Binance's precision);
    trades the backtest closed only because the data ended are left out
    (live, they are still open). The P&L is compared apart (:func:`pnls`).
    """
    return [row for row, _ in _rows(trades)]


def pnls(trades: Iterable[Mapping[str, Any]]) -> list[float]:
    """The P&L of each trade of :func:`normalise`, in the same order.

    Live trading books it in exact decimals, the backtest adds it up in
    floating point: compare them within a tolerance.
    """
    return [pnl for _, pnl in _rows(trades)]


def _rows(trades: Iterable[Mapping[str, Any]]) -> list[tuple[tuple[Any, ...], float]]:
    out = []
    for t in trades:
        if t["reason"] == "end_of_data":
            continue
        row: list[Any] = []
        for f in PARITY_FIELDS:
            v = t[f]
            if isinstance(v, Decimal | float):
                v = round(float(v), 8)
            elif f == "reason":
                v = _REASONS.get(v, v)
            row.append(v)
        out.append((tuple(row), float(t["pnl"])))
    return sorted(out, key=lambda r: (r[0][2], r[0][0]))


def backtest_trades(
    data: Iterable[str | Path], config: ConfigSource = None, *, start: int | None = None
) -> list[dict[str, Any]]:
    """The backtest's trades of candle files (see :func:`normalise`, :func:`pnls`)."""
    return Backtest(config).run(*data, start=start).trade_records()


async def live_trades(db: Database, client_id: int) -> list[dict[str, Any]]:
    """A client's closed trades as the trade engine recorded them, in the backtest's terms.

    The exit price is the average of the exit fills (partial take-profits
    included) and the exit time the last one's, as the backtest reports them.
    """
    out: list[dict[str, Any]] = []
    async with db.read() as s:
        rows = await repo.trades_of(s, client_id, ("closed",), limit=1_000_000)
        for t in rows:
            qty = value = Decimal(0)
            last = 0
            for o in await repo.orders_of(s, t.id):
                if o.purpose == "entry":
                    continue
                for f in await repo.fills_of(s, o.id):
                    qty += f.qty
                    value += f.qty * f.price
                    last = max(last, f.ts)
            out.append(
                {
                    "symbol": t.symbol,
                    "side": 1 if t.side == "BUY" else -1,
                    "entry_time": t.opened_ms,
                    "entry_price": t.entry_price,
                    "qty": t.quantity,
                    "exit_time": last,
                    "exit_price": value / qty if qty else t.exit_price,
                    "reason": t.close_reason,
                    "pnl": t.realized_pnl,
                }
            )
    return out


def live_config(
    params: BotParameters,
    filters: Mapping[str, SymbolFilters],
    *,
    init_cash: Decimal,
    taker_bps: Decimal = Decimal(10),
    maker_bps: Decimal = Decimal(10),
    slippage_bps: Decimal = Decimal(0),
    latency_ms: int = 0,
    max_exposure_percent: Decimal = Decimal(100),
    engine: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The backtest configuration that trades as a paper bot with ``params`` does.

    ``init_cash`` is the client's equity at the start (its balance with the
    Client service); the fees, slippage and latency are the trade engine's
    ``paper_*`` settings; ``max_exposure_percent`` its per-symbol cap.

    Raises
    ------
    ValueError
        For rules the backtester does not model (ATR-multiple initial stops
        are the engine's ATR in the backtest; chandelier and time stops).
    """
    st = params.stops
    if st.stop_loss_percent is None:
        raise ValueError("only percent initial stops map onto the backtest's live parity")
    if st.chandelier_atr_multiple is not None or st.time_stop_minutes is not None:
        raise ValueError("chandelier and time stops are not part of the parity mapping")
    return {
        "engine": dict(engine or {}),
        "init_cash": float(init_cash),
        "risk_pct": float(params.risk_per_trade_percent),
        "max_position_pct": float(max_exposure_percent),
        "max_positions": params.max_open_positions,
        "allow_short": False,
        "exit_on_opposite": True,
        "intrabar": "direction",  # the stop monitor's path of a closed candle
        "stops": {
            "stop_atr": 0,
            "stop_pct": float(st.stop_loss_percent),
            "trail_pct": float(st.trailing_percent or 0),
            "breakeven_after_r": float(st.break_even_after_r or 0),
            "take_profits": [
                {"r": float(tp.r_multiple), "fraction": float(tp.fraction)} for tp in st.take_profit
            ],
        },
        "fills": {
            "taker_bps": float(taker_bps),
            "maker_bps": float(maker_bps),
            "slippage_bps": float(slippage_bps),
            "latency_ms": latency_ms,
        },
        "filters": {
            sym: {
                "tick_size": float(f.tick_size),
                "step_size": float(f.step_size),
                "min_qty": float(f.min_qty),
                "min_notional": float(f.min_notional),
            }
            for sym, f in filters.items()
        },
    }
