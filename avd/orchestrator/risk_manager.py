"""The risk manager: position sizing and the limits every new entry must pass.

Sizing: ``equity * risk% / |entry - stop|`` (the Rust :func:`~avd.trading.size_position`),
with equity from the Client service's internal balance (through the
:class:`~avd.api.client.gateway.ClientGateway`) plus the realized P&L of the
client's closed trades.

Limits, in the order they are checked: the kill switch, the drawdown block
(equity down more than ``max_drawdown_percent`` from its peak blocks trading
until an admin unblocks), the daily loss limit (realized losses of the UTC
day above ``daily_loss_limit_percent`` of the day's starting equity pause new
entries until the next UTC day), the leverage cap (spot is 1), the client's
permission to trade, the maximum open positions, and the exposure per symbol
and in total. Every refusal is a :class:`RiskRefusal` naming the rule and the
numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from avd.api.client.gateway import ClientGateway
from avd.orchestrator.events import DrawdownLimitReached
from avd.trading import SymbolFilters, size_position

D0 = Decimal(0)
HUNDRED = Decimal(100)


def _s(v: Decimal) -> str:
    q = v.quantize(Decimal("0.00000001"))
    return f"{q.normalize():f}" if q != 0 else "0"


class RiskLimits(BaseModel):
    """The platform's risk limits (per client)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_open_positions: int = Field(10, ge=1, description="cap over the client's own setting")
    max_exposure_per_symbol_percent: Decimal = Field(Decimal(100), gt=0)
    max_total_exposure_percent: Decimal = Field(Decimal(100), gt=0)
    max_leverage: Decimal = Field(Decimal(1), gt=0, description="spot: 1")
    daily_loss_limit_percent: Decimal = Field(Decimal(5), gt=0, le=100)
    max_drawdown_percent: Decimal = Field(Decimal(20), gt=0, le=100)


class RiskRefusal(Exception):  # noqa: N818 - the domain name
    """A refused entry: which rule, why, and the numbers behind it."""

    def __init__(self, rule: str, detail: str, **numbers: Decimal | int | str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.numbers = {
            k: (_s(v) if isinstance(v, Decimal) else str(v)) for k, v in numbers.items()
        }


@dataclass
class ClientRisk:
    """What the risk manager remembers of one client."""

    realized_pnl: Decimal = D0
    peak_equity: Decimal | None = None
    day: date | None = None
    day_start_equity: Decimal = D0
    day_pnl: Decimal = D0
    blocked: bool = False
    blocked_reason: str = ""


@dataclass(frozen=True)
class OpenExposure:
    """An open position's symbol and notional (quantity x entry)."""

    symbol: str
    notional: Decimal


@dataclass(frozen=True)
class EntryRequest:
    """A proposed entry."""

    client_id: int
    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    filters: SymbolFilters
    risk_percent: Decimal
    quantity: Decimal | None = None
    leverage: Decimal = Decimal(1)
    max_open_positions: int = 10
    cash: Decimal | None = None


@dataclass(frozen=True)
class Sized:
    """An accepted entry: the quantity and what it risks."""

    quantity: Decimal
    notional: Decimal
    risk_amount: Decimal
    equity: Decimal
    capped_by: str | None = None


@dataclass
class RiskStatus:
    """A client's risk state, for ``GET /risk/status``."""

    client_id: int
    equity: Decimal
    peak_equity: Decimal
    drawdown_percent: Decimal
    daily_pnl: Decimal
    daily_loss_limit: Decimal
    entries_paused_until: str | None
    blocked: bool
    blocked_reason: str
    kill_switch: bool
    open_positions: int
    exposure: Decimal
    limits: dict[str, str] = field(default_factory=dict)


class RiskManager:
    """Sizing and limits; keeps each client's peak equity and daily P&L."""

    def __init__(
        self,
        limits: RiskLimits,
        gateway: ClientGateway,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.gateway = gateway
        self.clock = clock
        self.kill_switch = False
        self.kill_reason = ""
        self._clients: dict[int, ClientRisk] = {}
        #: DrawdownLimitReached events to publish (the engine drains them)
        self.pending_events: list[DrawdownLimitReached] = []

    def state(self, client_id: int) -> ClientRisk:
        """The client's remembered state."""
        return self._clients.setdefault(client_id, ClientRisk())

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    async def balance(self, client_id: int) -> Decimal:
        """The client's internal balance from the Client service."""
        return (await self.gateway.internal_balance(client_id)).balance

    async def equity(self, client_id: int) -> Decimal:
        """Internal balance plus realized P&L; rolls the day and the peak forward."""
        st = self.state(client_id)
        eq = await self.balance(client_id) + st.realized_pnl
        self._roll(st, eq)
        return eq

    def _roll(self, st: ClientRisk, equity: Decimal) -> None:
        today = self._today()
        if st.day != today:
            st.day = today
            st.day_start_equity = equity
            st.day_pnl = D0
        if st.peak_equity is None or equity > st.peak_equity:
            st.peak_equity = equity

    def restore(
        self,
        client_id: int,
        *,
        realized_pnl: Decimal,
        day_pnl: Decimal,
        peak_equity: Decimal | None,
        blocked: bool,
        blocked_reason: str = "",
    ) -> None:
        """Restore a client's state after a restart (from the trade history)."""
        st = self.state(client_id)
        st.realized_pnl = realized_pnl
        st.peak_equity = peak_equity
        st.blocked = blocked
        st.blocked_reason = blocked_reason
        st.day = self._today()
        st.day_pnl = day_pnl
        st.day_start_equity = D0  # set on the first equity() below

    async def on_trade_closed(self, client_id: int, pnl: Decimal) -> DrawdownLimitReached | None:
        """Book a closed trade's P&L; block the client when the drawdown limit is passed."""
        st = self.state(client_id)
        eq_before = await self.equity(client_id)
        st.realized_pnl += pnl
        st.day_pnl += pnl
        eq = eq_before + pnl
        if st.peak_equity is None or eq > st.peak_equity:
            st.peak_equity = eq
            return None
        dd = self._drawdown(st.peak_equity, eq)
        if not st.blocked and dd > self.limits.max_drawdown_percent:
            st.blocked = True
            st.blocked_reason = (
                f"drawdown {_s(dd)}% from the peak equity {_s(st.peak_equity)} "
                f"(equity {_s(eq)}) exceeds max_drawdown_percent "
                f"{_s(self.limits.max_drawdown_percent)}%"
            )
            ev = DrawdownLimitReached(
                client_id=client_id,
                equity=_s(eq),
                peak=_s(st.peak_equity),
                drawdown_percent=_s(dd),
                limit_percent=_s(self.limits.max_drawdown_percent),
            )
            self.pending_events.append(ev)
            return ev
        return None

    @staticmethod
    def _drawdown(peak: Decimal, equity: Decimal) -> Decimal:
        if peak <= 0:
            return D0
        return ((peak - equity) / peak * HUNDRED).quantize(Decimal("0.0001"))

    async def unblock(self, client_id: int | None = None) -> list[int]:
        """Lift the drawdown block (an admin's decision); the peak restarts from now."""
        ids = [client_id] if client_id is not None else list(self._clients)
        done = []
        for cid in ids:
            st = self.state(cid)
            if st.blocked:
                st.blocked = False
                st.blocked_reason = ""
                st.peak_equity = None
                await self.equity(cid)
                done.append(cid)
        return done

    def set_kill_switch(self, active: bool, reason: str = "") -> None:
        """Stop (or allow again) every new entry."""
        self.kill_switch = active
        self.kill_reason = reason if active else ""

    def _next_day(self) -> str:
        nxt = datetime.combine(self._today() + timedelta(days=1), datetime.min.time(), UTC)
        return nxt.isoformat().replace("+00:00", "Z")

    async def check_entry(self, req: EntryRequest, open_positions: list[OpenExposure]) -> Sized:
        """Size the entry and check every limit; raise :class:`RiskRefusal` if one refuses."""
        lim = self.limits
        if self.kill_switch:
            raise RiskRefusal(
                "kill_switch",
                "the kill switch is on: no new entries"
                + (f" ({self.kill_reason})" if self.kill_reason else ""),
            )
        st = self.state(req.client_id)
        if st.blocked:
            raise RiskRefusal(
                "max_drawdown",
                f"trading is blocked until an admin unblocks: {st.blocked_reason}",
                max_drawdown_percent=lim.max_drawdown_percent,
            )
        bal = await self.gateway.internal_balance(req.client_id)
        equity = bal.balance + st.realized_pnl
        self._roll(st, equity)
        if st.day_start_equity == 0:
            st.day_start_equity = equity - st.day_pnl
        loss_limit = st.day_start_equity * lim.daily_loss_limit_percent / HUNDRED
        if st.day_pnl < 0 and -st.day_pnl >= loss_limit:
            raise RiskRefusal(
                "daily_loss_limit",
                f"lost {_s(-st.day_pnl)} today, at or above the daily loss limit "
                f"{_s(loss_limit)} ({_s(lim.daily_loss_limit_percent)}% of the day's starting "
                f"equity {_s(st.day_start_equity)}); new entries paused until {self._next_day()}",
                daily_loss=-st.day_pnl,
                limit=loss_limit,
            )
        if req.leverage > lim.max_leverage:
            raise RiskRefusal(
                "max_leverage",
                f"leverage {_s(req.leverage)} is above the maximum {_s(lim.max_leverage)} "
                "(spot trading is unleveraged)",
                leverage=req.leverage,
                max_leverage=lim.max_leverage,
            )
        if not bal.can_trade:
            raise RiskRefusal(
                "client_cannot_trade",
                f"the Client service refuses trading for this account (balance {_s(bal.balance)}"
                f"{', blocked' if bal.blocked else ''})",
                balance=bal.balance,
            )
        max_pos = min(req.max_open_positions, lim.max_open_positions)
        if len(open_positions) >= max_pos:
            raise RiskRefusal(
                "max_open_positions",
                f"{len(open_positions)} positions are open; the maximum is {max_pos}",
                open_positions=len(open_positions),
                max_open_positions=max_pos,
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
                raise RiskRefusal(
                    ps.rule or "sizing",
                    ps.reason or "the position cannot be sized",
                    equity=equity,
                    risk_percent=req.risk_percent,
                    entry=req.entry,
                    stop=req.stop,
                )
            qty, capped_by, risk_amount = ps.qty, ps.capped_by, ps.risk_amount
        if qty <= 0:
            raise RiskRefusal(
                "quantity", "the quantity rounds to zero at the symbol's step size", quantity=qty
            )
        notional = qty * req.entry
        if sym_now + notional > sym_cap:
            raise RiskRefusal(
                "max_exposure_per_symbol",
                f"{req.symbol} exposure would be {_s(sym_now + notional)} "
                f"(open {_s(sym_now)} + new {_s(notional)}), above the cap {_s(sym_cap)} "
                f"({_s(lim.max_exposure_per_symbol_percent)}% of equity {_s(equity)})",
                exposure=sym_now + notional,
                cap=sym_cap,
            )
        if total_now + notional > total_cap:
            raise RiskRefusal(
                "max_total_exposure",
                f"total exposure would be {_s(total_now + notional)} "
                f"(open {_s(total_now)} + new {_s(notional)}), above the cap {_s(total_cap)} "
                f"({_s(lim.max_total_exposure_percent)}% of equity {_s(equity)})",
                exposure=total_now + notional,
                cap=total_cap,
            )
        return Sized(qty, notional, risk_amount, equity, capped_by)

    async def status(self, client_id: int, open_positions: list[OpenExposure]) -> RiskStatus:
        """The client's risk state."""
        equity = await self.equity(client_id)
        st = self.state(client_id)
        if st.day_start_equity == 0:
            st.day_start_equity = equity - st.day_pnl
        peak = st.peak_equity if st.peak_equity is not None else equity
        limit = st.day_start_equity * self.limits.daily_loss_limit_percent / HUNDRED
        paused = st.day_pnl < 0 and -st.day_pnl >= limit
        return RiskStatus(
            client_id=client_id,
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
            limits={k: str(v) for k, v in self.limits.model_dump().items()},
        )
