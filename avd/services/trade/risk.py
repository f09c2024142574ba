"""The risk manager: position sizing and the limits every new entry must pass.

The trading capital is the account the trades happen on: the client's
Binance account live, its paper account on paper. Its equity (every balance
marked to market, see :mod:`avd.services.trade.accounts`) sizes the
positions and scales the caps. The Client service's prepaid balance only
gates trading (the trade engine asks it before each entry); it never sizes.

Sizing: ``equity * risk% / |entry - stop|`` (the Rust :func:`~avd.trading.size_position`).

Limits, in the order they are checked: the kill switch, the drawdown block
(equity down more than ``max_drawdown_percent`` from its peak blocks trading
until an admin unblocks), the daily loss limit (realized losses of the UTC
day at or above ``daily_loss_limit_percent`` of the day's starting equity
pause new entries until the next UTC day), then, with the exposure the
client already holds (open positions and pending entries), the leverage cap
(spot is 1), the maximum open positions and the exposure per symbol and in
total. Every refusal is an :class:`~avd.domain.errors.InvalidRequest`
naming the rule and the numbers.

:meth:`RiskManager.gate` takes the time-dependent checks; :meth:`RiskManager.size`
is pure and runs inside the trade engine's entry guard (a per-client lock
plus a database lock), against the exposure read in that same transaction,
so that concurrent entries cannot all pass the same caps.

The limits and the other value types are in :mod:`avd.services.trade.risk_types`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from avd.domain.events import DrawdownLimitReached
from avd.services.trade.risk_types import (
    D0,
    HUNDRED,
    ClientRisk,
    EntryRequest,
    OpenExposure,
    RiskLimits,
    Sized,
    fmt8,
    refused,
)
from avd.services.trade.schemas import RiskStatus
from avd.trading import size_position

# the value types were defined here first: still importable from here
__all__ = [
    "ClientRisk",
    "EntryRequest",
    "OpenExposure",
    "RiskLimits",
    "RiskManager",
    "Sized",
    "refused",
]


class RiskManager:
    """Sizing and limits; keeps each client's peak equity and daily P&L."""

    def __init__(self, limits: RiskLimits, *, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self.clock = clock
        self.kill_switch = False
        self.kill_reason = ""
        self._clients: dict[int, ClientRisk] = {}

    def state(self, client_id: int) -> ClientRisk:
        """The client's remembered state."""
        return self._clients.setdefault(client_id, ClientRisk())

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def observe(self, client_id: int, mode: str, equity: Decimal) -> ClientRisk:
        """Record an observation of the account's equity: roll the UTC day and the peak.

        Paper and live are different accounts: when the client's mode changes,
        the peak restarts from the new account's equity.
        """
        st = self.state(client_id)
        if st.mode != mode:
            st.mode = mode
            st.peak_equity = None
            st.day_start_equity = D0
            st.dirty = True
        today = self._today()
        if st.day != today:
            st.day = today
            st.day_pnl = D0
            st.day_start_equity = equity
            st.dirty = True
        if st.day_start_equity == 0:
            # first look at the account today, after a restart: today's
            # realized P&L is already in its equity
            st.day_start_equity = equity - st.day_pnl
            st.dirty = True
        if st.peak_equity is None or equity > st.peak_equity:
            st.peak_equity = equity
            st.dirty = True
        return st

    def restore(
        self,
        client_id: int,
        *,
        day_pnl: Decimal,
        peak_equity: Decimal | None,
        blocked: bool,
        blocked_reason: str = "",
        mode: str | None = None,
        day: date | None = None,
        day_start_equity: Decimal | None = None,
    ) -> None:
        """Restore a client's state after a restart.

        ``day_pnl``: today's realized P&L (from the trade history);
        ``day``/``day_start_equity``: the day the limit counted and its
        starting equity as saved (another day's are not today's: the first
        look at the account today sets it).
        """
        st = self.state(client_id)
        st.peak_equity = peak_equity
        st.blocked = blocked
        st.blocked_reason = blocked_reason
        st.mode = mode
        st.day = self._today()
        st.day_pnl = day_pnl
        same_day = day == st.day and day_start_equity is not None
        st.day_start_equity = day_start_equity if same_day and day_start_equity else D0

    def on_trade_closed(
        self, client_id: int, mode: str, pnl: Decimal, equity: Decimal
    ) -> DrawdownLimitReached | None:
        """Book a closed trade's P&L (``equity``: the account after it).

        Blocks the client when its drawdown from the peak passes the limit.
        """
        st = self.state(client_id)
        if st.mode != mode or st.day != self._today():
            self.observe(client_id, mode, equity - pnl)  # the account before this close
        st.day_pnl += pnl
        st = self.observe(client_id, mode, equity)
        assert st.peak_equity is not None
        dd = self._drawdown(st.peak_equity, equity)
        if st.blocked or dd <= self.limits.max_drawdown_percent:
            return None
        st.blocked = True
        st.blocked_reason = (
            f"drawdown {fmt8(dd)}% from the peak equity {fmt8(st.peak_equity)} "
            f"(equity {fmt8(equity)}) exceeds max_drawdown_percent "
            f"{fmt8(self.limits.max_drawdown_percent)}%"
        )
        return DrawdownLimitReached(
            client_id=client_id,
            equity=fmt8(equity),
            peak=fmt8(st.peak_equity),
            drawdown_percent=fmt8(dd),
            limit_percent=fmt8(self.limits.max_drawdown_percent),
        )

    @staticmethod
    def _drawdown(peak: Decimal, equity: Decimal) -> Decimal:
        if peak <= 0:
            return D0
        return ((peak - equity) / peak * HUNDRED).quantize(Decimal("0.0001"))

    def unblock(self, client_id: int | None = None) -> list[int]:
        """Lift the drawdown block (an admin's decision); the peak restarts at the next look."""
        ids = [client_id] if client_id is not None else list(self._clients)
        done = []
        for cid in ids:
            st = self.state(cid)
            if st.blocked:
                st.blocked = False
                st.blocked_reason = ""
                st.peak_equity = None
                done.append(cid)
        return done

    def set_kill_switch(self, active: bool, reason: str = "") -> None:
        """Stop (or allow again) every new entry."""
        self.kill_switch = active
        self.kill_reason = reason if active else ""

    def _next_day(self) -> str:
        nxt = datetime.combine(self._today() + timedelta(days=1), datetime.min.time(), UTC)
        return nxt.isoformat().replace("+00:00", "Z")

    def daily_loss_limit(self, st: ClientRisk) -> Decimal:
        """The loss that pauses entries today."""
        return st.day_start_equity * self.limits.daily_loss_limit_percent / HUNDRED

    def gate(self, client_id: int, mode: str, equity: Decimal) -> None:
        """The checks before sizing: kill switch, drawdown block, daily loss limit.

        ``equity`` is the account's equity now (it rolls the day and the peak).
        """
        lim = self.limits
        if self.kill_switch:
            raise refused(
                "kill_switch",
                "the kill switch is on: no new entries"
                + (f" ({self.kill_reason})" if self.kill_reason else ""),
            )
        st = self.observe(client_id, mode, equity)
        if st.blocked:
            raise refused(
                "max_drawdown",
                f"trading is blocked until an admin unblocks: {st.blocked_reason}",
                max_drawdown_percent=lim.max_drawdown_percent,
            )
        loss_limit = self.daily_loss_limit(st)
        if st.day_pnl < 0 and -st.day_pnl >= loss_limit:
            raise refused(
                "daily_loss_limit",
                f"lost {fmt8(-st.day_pnl)} today, at or above the daily loss limit "
                f"{fmt8(loss_limit)} ({fmt8(lim.daily_loss_limit_percent)}% of the day's starting "
                f"equity {fmt8(st.day_start_equity)}); new entries paused until {self._next_day()}",
                daily_loss=-st.day_pnl,
                limit=loss_limit,
            )

    def size(self, req: EntryRequest, equity: Decimal, open_positions: list[OpenExposure]) -> Sized:
        """Size the entry against ``equity`` and the exposure held, or refuse it.

        Pure: the trade engine calls it inside its entry guard, with the
        pending and open positions read in the same transaction.

        Raises
        ------
        InvalidRequest
            The rule the entry breaks, with the numbers.
        """
        lim = self.limits
        if req.leverage > lim.max_leverage:
            raise refused(
                "max_leverage",
                f"leverage {fmt8(req.leverage)} is above the maximum {fmt8(lim.max_leverage)} "
                "(spot trading is unleveraged)",
                leverage=req.leverage,
                max_leverage=lim.max_leverage,
            )
        max_pos = min(req.max_open_positions, lim.max_open_positions)
        if len(open_positions) >= max_pos:
            raise refused(
                "max_open_positions",
                f"{len(open_positions)} positions are open or pending; the maximum is {max_pos}",
                open_positions=len(open_positions),
                max_open_positions=max_pos,
            )
        if equity <= 0:
            raise refused(
                "no_equity",
                f"the trading account's equity is {fmt8(equity)}: nothing to trade with",
                equity=equity,
            )
        sym_now = sum((p.notional for p in open_positions if p.symbol == req.symbol), D0)
        total_now = sum((p.notional for p in open_positions), D0)
        sym_cap = equity * lim.max_exposure_per_symbol_percent / HUNDRED * req.leverage
        total_cap = equity * lim.max_total_exposure_percent / HUNDRED * req.leverage
        if req.quantity is not None:
            qty = req.filters.round_qty(req.quantity)
            capped_by = None
            risk_amount = abs(req.entry - req.stop) * qty
        else:
            ps = size_position(
                req.filters,
                req.side,
                equity,
                req.risk_percent,
                req.entry,
                req.stop,
                cash=req.cash,
                # a risk-sized entry is cut down to the exposure caps (as the
                # backtester's ``max_position_pct``), not refused
                max_notional=max(min(sym_cap - sym_now, total_cap - total_now), D0),
            )
            if not ps.accepted:
                raise refused(
                    ps.rule or "sizing",
                    ps.reason or "the position cannot be sized",
                    equity=equity,
                    risk_percent=req.risk_percent,
                    entry=req.entry,
                    stop=req.stop,
                )
            qty, capped_by, risk_amount = ps.qty, ps.capped_by, ps.risk_amount
        if qty <= 0:
            raise refused(
                "quantity", "the quantity rounds to zero at the symbol's step size", quantity=qty
            )
        notional = qty * req.entry
        if sym_now + notional > sym_cap:
            raise refused(
                "max_exposure_per_symbol",
                f"{req.symbol} exposure would be {fmt8(sym_now + notional)} "
                f"(held {fmt8(sym_now)} + new {fmt8(notional)}), above the cap {fmt8(sym_cap)} "
                f"({fmt8(lim.max_exposure_per_symbol_percent)}% of equity {fmt8(equity)})",
                exposure=sym_now + notional,
                cap=sym_cap,
            )
        if total_now + notional > total_cap:
            raise refused(
                "max_total_exposure",
                f"total exposure would be {fmt8(total_now + notional)} "
                f"(held {fmt8(total_now)} + new {fmt8(notional)}), above the cap {fmt8(total_cap)} "
                f"({fmt8(lim.max_total_exposure_percent)}% of equity {fmt8(equity)})",
                exposure=total_now + notional,
                cap=total_cap,
            )
        if req.cash is not None and req.side == "BUY" and notional > req.cash:
            raise refused(
                "insufficient_funds",
                f"the entry costs {fmt8(notional)} but the account has {fmt8(req.cash)} free "
                "(less what pending entries reserve)",
                cost=notional,
                free=req.cash,
            )
        return Sized(qty, notional, risk_amount, equity, capped_by)

    def status(
        self, client_id: int, mode: str, equity: Decimal, open_positions: list[OpenExposure]
    ) -> RiskStatus:
        """The client's risk state (``equity``: the account's, now)."""
        st = self.observe(client_id, mode, equity)
        peak = st.peak_equity if st.peak_equity is not None else equity
        limit = self.daily_loss_limit(st)
        paused = st.day_pnl < 0 and -st.day_pnl >= limit
        return RiskStatus(
            client_id=client_id,
            mode=mode,
            equity=equity,
            peak_equity=peak,
            drawdown_percent=self._drawdown(peak, equity),
            daily_pnl=st.day_pnl,
            daily_loss_limit=limit,
            entries_paused_until=self._next_day() if paused else None,
            blocked=st.blocked,
            blocked_reason=st.blocked_reason,
            kill_switch=self.kill_switch,
            open_positions=len(open_positions),
            exposure=sum((p.notional for p in open_positions), D0),
            limits={k: Decimal(v) for k, v in self.limits.model_dump().items()},
        )
