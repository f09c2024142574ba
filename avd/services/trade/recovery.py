"""Restart recovery and reconciliation with the exchanges.

On start the risk state and the paper accounts are rebuilt from the
database, and the pending and open trades are reconciled with the exchange:
an entry that filled while the platform was down is recorded, one the
exchange no longer knows is flagged, a protective stop that filled is booked
as the exit, and every remaining stop is restored into the tracker. Nothing
is sent twice: each order is looked up by its client order id first. After
a live account's user data stream reconnects, its trades are caught up the
same way (:meth:`Recovery.reconcile_client`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from avd.exchange.exchange import ExchangeError, OrderFill, OrderReport, OrderRequest
from avd.exchange.paper import PaperExchange
from avd.services.trade.booking import Booking, fmt
from avd.services.trade.orders import Orders
from avd.services.trade.positions import OrderIds, Positions
from avd.services.trade.risk import RiskManager
from avd.services.trade.stops import Tracked
from avd.services.trade.venues import Venues
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import TradeRecord

log = logging.getLogger(__name__)


@dataclass
class Reconciliation:
    """What the last reconciliation with the exchanges found."""

    at: float = 0.0
    recorded_fills: int = 0
    flagged: list[int] = field(default_factory=list)
    restored_stops: int = 0
    #: paper orders that were waiting (entries, signal exits), placed again
    restored_orders: int = 0
    closed_while_down: list[int] = field(default_factory=list)
    unknown_open_orders: list[str] = field(default_factory=list)
    balances: dict[str, dict[str, str]] = field(default_factory=dict)


class Recovery:
    """Restores what a restart lost and reconciles it with the exchanges."""

    def __init__(
        self,
        db: Database,
        venues: Venues,
        risk: RiskManager,
        orders: Orders,
        booking: Booking,
        positions: Positions,
        ids: OrderIds,
        *,
        protective_orders: bool,
    ) -> None:
        self.db = db
        self.venues = venues
        self.risk = risk
        self.orders = orders
        self.booking = booking
        self.positions = positions
        self.ids = ids
        self.protective_orders = protective_orders
        self.reconciliation = Reconciliation()

    async def recover(self, only: set[int] | None = None) -> Reconciliation:
        """Restore open positions and stops; reconcile with the exchanges.

        ``only``: these clients (a trade worker taking clients over), else every client.
        """
        rec = Reconciliation(at=time.time())

        def mine(client_id: int) -> bool:
            return only is None or client_id in only

        async with self.db.read() as s:
            active = [
                t
                for t in await repo.trades_of(s, None, repo.OPEN_STATUSES, limit=100_000)
                if mine(t.client_id)
            ]
            clients = {t.client_id for t in active}
            states = {r.client_id: r for r in await repo.risk_states(s) if mine(r.client_id)}
            clients |= set(states)
            day = {
                c: await repo.realized(
                    s,
                    c,
                    repo.start_of_day(),
                    mode=states[c].mode if c in states else None,
                )
                for c in clients
            }
        for c in clients:
            st = states.get(c)
            self.risk.restore(
                c,
                day_pnl=day[c],
                peak_equity=st.peak_equity if st is not None else None,
                blocked=st.blocked if st is not None else False,
                blocked_reason=st.blocked_reason if st is not None else "",
                mode=st.mode if st is not None else None,
                day=date.fromisoformat(st.day) if st is not None and st.day else None,
                day_start_equity=st.day_start_equity if st is not None else None,
            )
        await self._restore_paper_accounts(only)
        for t in sorted(active, key=lambda t: t.id):
            try:
                await self._recover_trade(t, rec)
            except ExchangeError as exc:
                log.warning("recovery of trade %d: %s", t.id, exc.message)
        for cid, ex in list(self.venues.live.items()):
            if not mine(cid):
                continue
            try:
                opened = await ex.open_orders()
                known = {o.client_order_id for o in opened}
                async with self.db.read() as s:
                    for cid_ in known:
                        if (
                            cid_.startswith(f"avd-{cid}-")
                            and await repo.order_by_cid(s, cid_) is None
                        ):
                            rec.unknown_open_orders.append(cid_)
                bal = await ex.balances()
                rec.balances[str(cid)] = {a: fmt(b.total) for a, b in bal.items() if b.total}
            except ExchangeError as exc:
                log.warning("reconciliation of client %d: %s", cid, exc.message)
        self.reconciliation = rec
        log.info(
            "trade engine recovered: %d stops restored, %d fills recorded, %d flagged",
            rec.restored_stops,
            rec.recorded_fills,
            len(rec.flagged),
        )
        return rec

    async def _restore_paper_accounts(self, only: set[int] | None = None) -> None:
        """Rebuild each paper account: its starting balance, then the fills since its reset.

        A fill moves the balances of the symbol's two assets, as the exchange
        lists them: the symbols traded are looked up first.
        """
        async with self.db.read() as s:
            since = {a.client_id: a.since_trade_id for a in await repo.paper_accounts(s)}
            if only is None:
                rows = await repo.trades_of(s, None, None, limit=10_000_000)
            else:  # a worker taking clients over reads their history only
                rows = [
                    t
                    for c in sorted(only)
                    for t in await repo.trades_of(s, c, None, limit=10_000_000)
                ]
            fills: list[tuple[int, str, str, Any]] = []
            for t in sorted(rows, key=lambda t: t.id):
                if t.mode != "paper" or t.id <= since.get(t.client_id, 0):
                    continue
                for o in await repo.orders_of(s, t.id):
                    fills += [
                        (t.client_id, t.symbol, o.side, f) for f in await repo.fills_of(s, o.id)
                    ]
        for symbol in sorted({symbol for _, symbol, _, _ in fills}):
            await self.venues.symbol(symbol)
        for client_id, symbol, side, f in fills:
            ex = await self.venues.exchange_for(client_id, "paper")
            assert isinstance(ex, PaperExchange)
            ex.book(symbol, side, f.price, f.qty, f.commission, f.commission_asset)

    async def _recover_trade(self, t: TradeRecord, rec: Reconciliation) -> None:
        ex = await self.venues.exchange_for(t.client_id, t.mode)
        entry_cid = self.ids.oid(t.client_id, t.id, "e")
        if t.status == "pending":
            got = await ex.get_order(t.symbol, entry_cid)
            if got is None and isinstance(ex, PaperExchange):
                # the paper exchange lives in memory: its waiting order went
                # with the process; placed again, with its id and decision time
                got = await self._place_again(ex, entry_cid)
                rec.restored_orders += got is not None
            if got is None:
                async with self.db.write() as s:
                    row = await repo.get_trade(s, t.id)
                    o = await repo.order_by_cid(s, entry_cid)
                    assert row is not None
                    row.status = "flagged"
                    row.note = "the exchange does not know the entry order (never placed or lost)"
                    if o is not None:
                        o.flag = row.note
                    await repo.log(s, t.id, "flagged", detail=row.note)
                rec.flagged.append(t.id)
                return
            self.positions.hold(
                t.id, t.client_id, t.symbol, t.requested_quantity * (got.price or Decimal(0))
            )
            if got.executed_qty > 0 and not got.fills and ex.mode != "paper":
                fills = [
                    f for f in await ex.trades_since(t.symbol, 0) if f.order_id == got.order_id
                ]
                got = replace(
                    got,
                    fills=tuple(
                        OrderFill(f.price, f.qty, f.commission, f.commission_asset, f.id, f.time)
                        for f in fills
                    ),
                )
                rec.recorded_fills += len(fills)
            row = await self.orders.apply_report(t.id, got)
            if row.status == "open":
                rec.restored_stops += 1
            return
        # open: a protective stop that filled while down is the exit
        assert t.entry_price is not None
        if ex.mode != "paper" and self.protective_orders:
            stop_cid = self.ids.oid(t.client_id, t.id, f"s{t.stop_version}")
            got = await ex.get_order(t.symbol, stop_cid)
            if got is not None and got.status == "FILLED":
                self.positions.hold(t.id, t.client_id, t.symbol, t.quantity * t.entry_price)
                tracked = Tracked(
                    t.id,
                    t.client_id,
                    t.symbol,
                    t.side,
                    ex,
                    await self.venues.filters(t.symbol),
                    namespace=self.ids.namespace,
                )
                await self.booking.exited(
                    tracked, got.executed_qty, got.average_price, "stop_loss", got.time, got, True
                )
                rec.closed_while_down.append(t.id)
                return
        self.positions.hold(t.id, t.client_id, t.symbol, t.quantity * t.entry_price)
        await self.orders.track(t, restored=True)
        rec.restored_stops += 1
        if isinstance(ex, PaperExchange):
            await self._restore_signal_exit(ex, t, rec)

    async def _place_again(self, ex: PaperExchange, client_order_id: str) -> OrderReport | None:
        """A paper order the database holds as waiting, placed again on the paper exchange."""
        async with self.db.read() as s:
            o = await repo.order_by_cid(s, client_order_id)
        if o is None or o.status not in ("PENDING_NEW", "NEW", "PARTIALLY_FILLED"):
            return None
        await self.venues.symbol(o.symbol)  # the paper exchange learns its filters
        try:
            return await ex.place_order(
                OrderRequest(
                    symbol=o.symbol,
                    side=o.side,
                    type=o.type,
                    quantity=o.quantity - o.executed_qty,
                    client_order_id=o.client_order_id,
                    price=o.price,
                    stop_price=o.stop_price,
                    after_ms=o.after_ms,
                )
            )
        except ExchangeError as exc:
            log.warning("paper order %s not placed again: %s", client_order_id, exc.message)
            return None

    async def _restore_signal_exit(
        self, ex: PaperExchange, t: TradeRecord, rec: Reconciliation
    ) -> None:
        """A paper signal exit that was waiting for the next trade waits again."""
        async with self.db.read() as s:
            waiting = [
                o
                for o in await repo.orders_of(s, t.id)
                if o.purpose == "exit" and o.status in ("PENDING_NEW", "NEW")
            ]
        for o in waiting:
            if await self._place_again(ex, o.client_order_id) is not None:
                self.positions.exit_orders[t.id] = o.client_order_id
                rec.restored_orders += 1

    async def reconcile_client(self, client_id: int) -> None:
        """After the user data stream reconnected: catch up on what it may have missed."""
        async with self.db.read() as s:
            rows = await repo.trades_of(s, client_id, repo.OPEN_STATUSES, limit=100_000)
        for t in rows:
            try:
                ex = await self.venues.exchange_for(client_id, t.mode)
                if ex.mode == "paper":
                    continue
                if t.status == "pending":
                    got = await ex.get_order(t.symbol, self.ids.oid(client_id, t.id, "e"))
                    if got is not None:
                        await self.orders.apply_report(t.id, got)
                    continue
                tr = self.orders.monitor.positions.get(t.id)
                if tr is not None and tr.protective_id:
                    got = await ex.get_order(t.symbol, tr.protective_id)
                    if got is not None and got.status == "FILLED":
                        await self.orders.stop_filled(t.id, got)
            except ExchangeError as exc:
                log.warning("reconciling trade %d: %s", t.id, exc.message)
