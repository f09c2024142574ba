"""A client's bot statistics for the admins: open positions, realized P&L, win rate.

Pure arithmetic over the trade rows (exact :class:`~decimal.Decimal` sums,
no database), so it is tested without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from avd.store.models import TradeRecord

D0 = Decimal(0)
#: statuses of a position still held (or about to be)
HELD = ("pending", "open")


@dataclass
class TradeStats:
    """What a client's trades add up to."""

    open: list[TradeRecord] = field(default_factory=list)
    closed: int = 0
    wins: int = 0
    losses: int = 0
    realized_pnl: Decimal = D0
    #: (close time, trade id, cumulative realized P&L of the closed trades), oldest first
    curve: list[tuple[datetime, int, Decimal]] = field(default_factory=list)

    @property
    def win_rate(self) -> Decimal | None:
        """Winning closed trades over closed trades (``None`` before the first close)."""
        return Decimal(self.wins) / Decimal(self.closed) if self.closed else None


def trade_stats(trades: Iterable[TradeRecord]) -> TradeStats:
    """The statistics of ``trades`` (any order).

    The realized P&L counts every trade (a partial exit of an open trade has
    realized some already) and is net of the exchange's commissions, as each
    trade's is; the win rate and the curve count closed trades, a win being
    a positive realized P&L.
    """
    out = TradeStats()
    done: list[TradeRecord] = []
    for t in trades:
        out.realized_pnl += t.realized_pnl
        if t.status in HELD:
            out.open.append(t)
        elif t.status == "closed":
            done.append(t)
            out.closed += 1
            if t.realized_pnl > 0:
                out.wins += 1
            elif t.realized_pnl < 0:
                out.losses += 1
    out.open.sort(key=lambda t: t.id)
    running = D0
    for t in sorted(done, key=lambda t: (t.closed_at or t.created_at, t.id)):
        running += t.realized_pnl
        out.curve.append((t.closed_at or t.created_at, t.id, running))
    return out
