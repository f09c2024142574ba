"""Closed trades as the History page shows them: totals, P&L and equity series, the CSV.

Pure functions over the Trade service's rows (``GET /trades/history``) and
the Client service's operations (``GET /client/history``, which carries the
platform fee charged on each closed trade). Money stays the API's decimal
strings until it is summed with :class:`~decimal.Decimal`, never a float.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from avd.ui.client.timefmt import parse as parse_time

Row = Mapping[str, Any]

D0 = Decimal(0)
HUNDRED = Decimal(100)

#: the CSV's columns: the API's field names (``platform_fee`` from the Client service)
CSV_COLUMNS = (
    "id",
    "symbol",
    "side",
    "mode",
    "origin",
    "quantity",
    "entry_price",
    "exit_price",
    "realized_pnl",
    "platform_fee",
    "close_reason",
    "created_at",
    "closed_at",
)


def closed_only(trades: Iterable[Row]) -> list[Row]:
    """The closed trades, oldest close first."""
    done = [t for t in trades if t.get("status") == "closed" and t.get("closed_at")]
    done.sort(key=lambda t: (parse_time(t["closed_at"]), t["id"]))
    return done


def trade_id_of(trade_ref: str | None) -> int | None:
    """The trade id in a fee's ``trade_ref`` (``trade<namespace>-<id>``)."""
    if not trade_ref or not trade_ref.startswith("trade"):
        return None
    _, _, tail = trade_ref.rpartition("-")
    return int(tail) if tail.isdigit() else None


def fees_by_trade(operations: Iterable[Row]) -> dict[int, str]:
    """The platform fee charged on each trade (as the Client service wrote it), by trade id."""
    fees: dict[int, str] = {}
    for op in operations:
        if op.get("type") != "trade" or op.get("fee") is None:
            continue
        trade_id = trade_id_of(op.get("trade_ref"))
        if trade_id is not None:
            fees[trade_id] = str(op["fee"])
    return fees


@dataclass(frozen=True)
class Totals:
    """What the closed trades add up to."""

    trades: int
    wins: int
    losses: int
    realized_pnl: Decimal
    fees: Decimal
    best: Decimal | None
    worst: Decimal | None

    @property
    def win_rate(self) -> Decimal | None:
        """Winning trades in percent of all (one decimal), ``None`` without trades."""
        if not self.trades:
            return None
        return (Decimal(self.wins) * HUNDRED / Decimal(self.trades)).quantize(Decimal("0.1"))

    @property
    def net(self) -> Decimal:
        """Realised P&L less the platform fees."""
        return self.realized_pnl - self.fees

    @property
    def average(self) -> Decimal | None:
        """Realised P&L per trade."""
        return self.realized_pnl / self.trades if self.trades else None


def totals(closed: Sequence[Row], fees: Mapping[int, str]) -> Totals:
    """Count, wins, realised P&L and fees of ``closed``."""
    pnls = [Decimal(t["realized_pnl"]) for t in closed]
    return Totals(
        trades=len(closed),
        wins=sum(1 for p in pnls if p > 0),
        losses=sum(1 for p in pnls if p < 0),
        realized_pnl=sum(pnls, D0),
        fees=sum((Decimal(fees[t["id"]]) for t in closed if t["id"] in fees), D0),
        best=max(pnls, default=None),
        worst=min(pnls, default=None),
    )


def cumulative_pnl(closed: Sequence[Row]) -> list[tuple[str, Decimal]]:
    """``(closed_at, running sum of realised P&L)`` after each close, in order."""
    running = D0
    out: list[tuple[str, Decimal]] = []
    for t in closed:
        running += Decimal(t["realized_pnl"])
        out.append((t["closed_at"], running))
    return out


def equity_curve(closed: Sequence[Row], account: Row | None, now: str) -> list[tuple[str, Decimal]]:
    """The trading account's equity after each close, ending at its equity ``now``.

    Paper: the starting balance at the last reset, plus the realised P&L of
    the account's trades closed since. Live (no starting balance): walked
    back from today's equity less what is still open.
    """
    if not account:
        return []
    mode = account.get("mode")
    reset_at = account.get("reset_at")
    since = parse_time(reset_at) if reset_at else None
    mine = [
        t
        for t in closed
        if t.get("mode") == mode and (since is None or parse_time(t["closed_at"]) >= since)
    ]
    equity = Decimal(account["equity"])
    if account.get("starting_balance") is not None:
        start = Decimal(account["starting_balance"])
    else:
        start = equity - Decimal(account["unrealized_pnl"])
        start -= sum((Decimal(t["realized_pnl"]) for t in mine), D0)
    points: list[tuple[str, Decimal]] = []
    if reset_at:
        points.append((reset_at, start))
    points += [(at, start + pnl) for at, pnl in cumulative_pnl(mine)]
    points.append((now, equity))
    return points


def csv_text(closed: Iterable[Row], fees: Mapping[int, str]) -> str:
    """The closed trades as CSV, every value as the API gave it (newest close first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in sorted(closed, key=lambda t: (parse_time(t["closed_at"]), t["id"]), reverse=True):
        values = {**t, "platform_fee": fees.get(t["id"], "")}
        writer.writerow("" if values.get(c) is None else str(values[c]) for c in CSV_COLUMNS)
    return buffer.getvalue()
