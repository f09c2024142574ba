"""Booking: what the exchange reports becomes trades, fills, P&L, fees and risk state.

The money is worked out by pure functions (no database), then written:

* an entry's fills: the position is what was bought less a commission taken
  in the base asset (rounded to the lot step; the rest stays on the account
  as dust, marked at market like any balance), and its cost, the entry's
  commission valued at the fill, is the first realized P&L;
* an exit (partial or final): the price move times the quantity, less the
  exit's commission in the quote asset;
* a closed trade: the risk manager books its P&L (and may block the client
  on drawdown), and the Client service charges the platform fee, once per
  trade (a failed charge is retried by charging again; the reference is the
  same).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from avd.domain.bus import EventBus
from avd.domain.errors import Refusal
from avd.domain.events import PartialExitTaken, TradeClosed
from avd.exchange.exchange import ExchangeError, OrderFill, OrderReport
from avd.services.trade.fees import FeeOutbox
from avd.services.trade.positions import OrderIds, Positions
from avd.services.trade.risk import RiskManager
from avd.services.trade.stops import Tracked
from avd.services.trade.venues import Venues
from avd.store import fees_due
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import OrderRecord, TradeRecord
from avd.store.money import utcnow

log = logging.getLogger(__name__)

D0 = Decimal(0)


def fmt(v: Decimal | None) -> str:
    """A plain decimal string for logs and the trade history ("" for none)."""
    if v is None:
        return ""
    return f"{v.normalize():f}" if v != 0 else "0"


# -- the money, by hand ----------------------------------------------------------------


def entry_commissions(
    fills: Iterable[OrderFill], side: str, base: str, quote: str
) -> tuple[Decimal, Decimal]:
    """The commission of an entry's fills: ``(in the base asset, in the quote asset)``.

    A BUY pays in the asset it receives (the base); a commission in another
    asset (BNB) is neither.
    """
    in_base = in_quote = D0
    for f in fills:
        if f.commission_asset == base and side == "BUY":
            in_base += f.commission
        elif f.commission_asset == quote:
            in_quote += f.commission
    return in_base, in_quote


def entry_cost(base_commission: Decimal, quote_commission: Decimal, price: Decimal) -> Decimal:
    """What an entry cost beyond its price: its commission valued at the fill (8 decimals)."""
    return repo.q8(base_commission * price + quote_commission)


def exit_commission(fills: Iterable[OrderFill], quote: str) -> Decimal:
    """The commission of an exit's fills paid in the quote asset."""
    return sum((f.commission for f in fills if f.commission_asset == quote), D0)


def exit_pnl(
    side: str, entry: Decimal, price: Decimal, qty: Decimal, commission: Decimal
) -> Decimal:
    """The realized P&L of selling ``qty`` at ``price``: the move less the commission.

    Each term is kept to the 8 decimals the database holds.
    """
    sign = 1 if side == "BUY" else -1
    return repo.q8((price - entry) * qty * sign) - repo.q8(commission)


# -- the bookkeeping --------------------------------------------------------------------


class Booking:
    """Writes entries, fills and exits; books P&L, the risk state and the platform fee."""

    def __init__(
        self,
        db: Database,
        hub: EventBus,
        venues: Venues,
        risk: RiskManager,
        fees: FeeOutbox,
        positions: Positions,
        ids: OrderIds,
    ) -> None:
        self.db = db
        self.hub = hub
        self.venues = venues
        self.risk = risk
        self.fees = fees
        self.positions = positions
        self.ids = ids

    async def record_entry(self, trade_id: int, report: OrderReport) -> tuple[TradeRecord, bool]:
        """Record an entry order's state; ``True`` when this report opened the position."""
        opened = False
        async with self.db.write() as s:
            t = await repo.get_trade(s, trade_id)
            o = await repo.order_by_cid(s, report.client_order_id)
            assert t is not None and o is not None
            info = await self.venues.symbol(t.symbol)
            o.status = report.status
            o.exchange_order_id = report.order_id or o.exchange_order_id
            o.executed_qty = repo.q8(report.executed_qty)
            o.cumulative_quote = repo.q8(report.cumulative_quote)
            o.updated_at = utcnow()
            for f in report.fills:
                await self.record_fill(s, t, o, f)
            base_fee, quote_fee = entry_commissions(report.fills, t.side, info.base, info.quote)
            filled = report.status == "FILLED" or (
                report.status in ("EXPIRED", "CANCELED") and report.executed_qty > 0
            )
            if t.status == "pending" and filled:
                net = info.filters.round_qty(report.executed_qty - base_fee)
                t.quantity = net
                t.open_quantity = net
                t.entry_price = info.filters.round_price(report.average_price)
                t.status = "open"
                t.opened_ms = report.time or int(time.time() * 1000)
                # the entry's cost is its commission; what it leaves below the
                # lot step stays on the account as dust, marked at market
                t.realized_pnl = -entry_cost(base_fee, quote_fee, t.entry_price)
                t.exposure = repo.q8(net * t.entry_price)
                distance = json.loads(t.plan or "{}").get("stop_distance")
                if distance is not None:
                    sign = 1 if t.side == "BUY" else -1
                    t.initial_stop = t.stop_loss = t.entry_price - sign * Decimal(distance)
                await repo.log(
                    s,
                    t.id,
                    "opened",
                    quantity=fmt(net),
                    entry_price=fmt(t.entry_price),
                    executed=fmt(report.executed_qty),
                )
                opened = True
            elif t.status == "pending" and report.status in ("CANCELED", "EXPIRED", "REJECTED"):
                t.status = "cancelled"
                t.exposure = D0
                await repo.log(s, t.id, "cancelled", status=report.status)
                self.positions.release(t.id)
        return t, opened

    async def record_fill(self, s: Any, t: TradeRecord, o: OrderRecord, f: OrderFill) -> None:
        """Record one fill of an order once, and log it."""
        new = await repo.add_fill(
            s,
            o,
            exchange_trade_id=f.trade_id,
            price=f.price,
            qty=f.qty,
            commission=f.commission,
            commission_asset=f.commission_asset,
            ts=f.ts,
        )
        if new:
            log.info(
                "fill %s %s %s at %s",
                o.side,
                fmt(f.qty),
                t.symbol,
                fmt(f.price),
                extra={
                    "event": "fill",
                    "client_id": t.client_id,
                    "trade_id": t.id,
                    "mode": t.mode,
                    "client_order_id": o.client_order_id,
                    "purpose": o.purpose,
                    "symbol": t.symbol,
                    "side": o.side,
                    "price": fmt(f.price),
                    "qty": fmt(f.qty),
                    "commission": fmt(f.commission),
                    "commission_asset": f.commission_asset,
                    "exchange_trade_id": f.trade_id,
                    "at_ms": f.ts,
                },
            )

    async def exited(
        self,
        t: Tracked,
        qty: Decimal,
        price: Decimal,
        reason: str,
        ts: int,
        report: OrderReport | None,
        final: bool,
    ) -> None:
        """Book a partial or final exit."""
        reason = self.positions.close_reason.pop(t.trade_id, reason) if final else reason
        quote = (await self.venues.symbol(t.symbol)).quote
        async with self.db.write() as s:
            row = await repo.get_trade(s, t.trade_id)
            if row is None or row.entry_price is None:
                return
            commission = D0
            if report is not None:
                o = await self._exit_order(s, row, report, final)
                for f in report.fills:
                    await self.record_fill(s, row, o, f)
                commission = exit_commission(report.fills, quote)
            pnl = exit_pnl(row.side, row.entry_price, price, qty, commission)
            row.realized_pnl += pnl
            row.open_quantity = max(row.open_quantity - qty, D0)
            row.exposure = repo.q8(row.open_quantity * row.entry_price)
            kind = "closed" if final else "partial_exit"
            await repo.log(
                s, row.id, kind, quantity=fmt(qty), price=fmt(price), reason=reason, pnl=fmt(pnl)
            )
            if final:
                row.status = "closed"
                row.exit_price = repo.q8(price)
                row.close_reason = reason
                row.closed_at = utcnow()
                row.open_quantity = D0
                row.exposure = D0
                # owed with the close itself: a fee is never lost (see fees.py)
                await fees_due.owe(
                    s,
                    trade_id=row.id,
                    client_id=row.client_id,
                    trade_ref=self.ids.fee_ref(row.id),
                    symbol=row.symbol,
                    notional=row.quantity * row.entry_price,
                    profit=row.realized_pnl,
                )
            # 1-based: this exit is already in the history (autoflush)
            level = sum(1 for h in await repo.history_of(s, row.id) if h.kind == "partial_exit")
        if not final:
            held = self.positions.held.get(t.trade_id)
            if held is not None:
                held.notional = row.exposure
            await self.hub.publish(
                PartialExitTaken(
                    trade_id=t.trade_id,
                    client_id=row.client_id,
                    symbol=row.symbol,
                    level=level,
                    quantity=fmt(qty),
                    price=fmt(price),
                    ts=ts,
                )
            )
            return
        await self._closed(t, row, price, reason, ts, report)

    async def _exit_order(
        self, s: Any, row: TradeRecord, report: OrderReport, final: bool
    ) -> OrderRecord:
        """The exit order of ``report``, recorded (added if the engine did not place it)."""
        o = await repo.order_by_cid(s, report.client_order_id)
        if o is None:
            o = await repo.add_order(
                s,
                OrderRecord(
                    trade_id=row.id,
                    client_order_id=report.client_order_id,
                    purpose="exit" if final else "partial",
                    symbol=row.symbol,
                    side=report.side,
                    type=report.type,
                    status=report.status,
                    quantity=repo.q8(report.orig_qty),
                ),
            )
        o.status = report.status
        o.exchange_order_id = report.order_id
        o.executed_qty = repo.q8(report.executed_qty)
        o.cumulative_quote = repo.q8(report.cumulative_quote)
        return o

    async def _closed(
        self,
        t: Tracked,
        row: TradeRecord,
        price: Decimal,
        reason: str,
        ts: int,
        report: OrderReport | None,
    ) -> None:
        """A trade closed: announce it, book its P&L in the risk state, charge the fee."""
        assert row.entry_price is not None
        self.positions.release(t.trade_id)
        log.info(
            "trade %d closed (%s): %s %s, P&L %s",
            t.trade_id,
            reason,
            row.symbol,
            fmt(row.quantity),
            fmt(row.realized_pnl),
            extra={
                "event": "trade_closed",
                "client_id": row.client_id,
                "trade_id": t.trade_id,
                "mode": row.mode,
                "symbol": row.symbol,
                "side": row.side,
                "reason": reason,
                "quantity": fmt(row.quantity),
                "entry_price": fmt(row.entry_price),
                "exit_price": fmt(price),
                "pnl": fmt(row.realized_pnl),
                "at_ms": ts,
            },
        )
        waiting = self.positions.exit_orders.pop(t.trade_id, None)
        if waiting is not None and (report is None or report.client_order_id != waiting):
            with contextlib.suppress(ExchangeError):
                await t.exchange.cancel_order(row.symbol, waiting)
        await self.hub.publish(
            TradeClosed(
                trade_id=t.trade_id,
                client_id=row.client_id,
                symbol=row.symbol,
                side=row.side,
                reason=reason,
                quantity=fmt(row.quantity),
                exit_price=fmt(price),
                pnl=fmt(row.realized_pnl),
                ts=ts,
            )
        )
        try:
            equity = (await self.venues.valuation(row.client_id, row.mode)).equity
        except Refusal as exc:
            log.warning("trade %d: account not valued after the close: %s", t.trade_id, exc)
        else:
            dd = self.risk.on_trade_closed(row.client_id, row.mode, row.realized_pnl, equity)
            await self.save_risk(row.client_id)
            if dd is not None:
                await self.hub.publish(dd)
        await self.fees.flush(t.trade_id)

    async def save_risk(self, client_id: int, *, if_changed: bool = False) -> None:
        """Persist the client's risk state (``if_changed``: only when it changed)."""
        st = self.risk.state(client_id)
        if if_changed and not st.dirty:
            return
        st.dirty = False
        async with self.db.write() as s:
            await repo.save_risk_state(
                s,
                client_id,
                peak_equity=st.peak_equity,
                blocked=st.blocked,
                blocked_reason=st.blocked_reason,
                mode=st.mode,
                day=st.day.isoformat() if st.day is not None else None,
                day_start_equity=st.day_start_equity or None,
            )
