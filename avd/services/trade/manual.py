"""What a client (or an admin) does by hand: close, amend, the kill switch, the account.

Every request here is answered with the trade or the account it changed, or
refused with an :mod:`avd.domain.errors` refusal: another client's trade is
not found either, only an open trade closes or changes, and an exchange that
fails is a 502/503 (see :func:`~avd.services.trade.venues.refusal_of`), never
a bare 500.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

from avd.domain.errors import Conflict, InvalidRequest, NotFound, Refusal
from avd.exceptions import InvalidParameterError
from avd.exchange.exchange import ExchangeError
from avd.services.trade.accounts import AccountView, PositionValue
from avd.services.trade.booking import Booking, fmt
from avd.services.trade.entries import ClientLocks, ParamsSource
from avd.services.trade.plans import plan_from_json
from avd.services.trade.positions import Positions
from avd.services.trade.risk import RiskManager
from avd.services.trade.schemas import RiskStatus
from avd.services.trade.stops import StopMonitor
from avd.services.trade.venues import Venues, refusal_of
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import TradeRecord

log = logging.getLogger(__name__)

D0 = Decimal(0)


class Manual:
    """Manual management of trades and accounts, and the queries behind the API."""

    def __init__(
        self,
        db: Database,
        params: ParamsSource,
        venues: Venues,
        monitor: StopMonitor,
        risk: RiskManager,
        booking: Booking,
        positions: Positions,
        locks: ClientLocks,
    ) -> None:
        self.db = db
        self.params = params
        self.venues = venues
        self.monitor = monitor
        self.risk = risk
        self.booking = booking
        self.positions = positions
        self.locks = locks

    async def trade_of(self, client_id: int, trade_id: int) -> TradeRecord:
        """The client's trade (another client's trade is not found either)."""
        async with self.db.read() as s:
            t = await repo.get_trade(s, trade_id)
        if t is None or t.client_id != client_id:
            raise NotFound("not_found", f"no trade {trade_id} for this client")
        return t

    async def trades(
        self, client_id: int, statuses: tuple[str, ...] | None, *, limit: int, offset: int
    ) -> list[TradeRecord]:
        """A client's trades, newest first."""
        async with self.db.read() as s:
            return await repo.trades_of(s, client_id, statuses, limit=limit, offset=offset)

    # -- closing and changing a trade --------------------------------------------------

    async def close(self, client_id: int, trade_id: int, *, reason: str = "manual") -> TradeRecord:
        """Close an open position at the market."""
        async with self.locks(client_id):
            return await self.close_unlocked(client_id, trade_id, reason=reason)

    async def close_unlocked(self, client_id: int, trade_id: int, *, reason: str) -> TradeRecord:
        """:meth:`close`, the client's lock held by the caller (a SELL of several trades)."""
        t = await self.trade_of(client_id, trade_id)
        if t.status != "open" or trade_id not in self.monitor.positions:
            raise Conflict("not_open", f"trade {trade_id} is {t.status}: only an open trade closes")
        try:
            ex = await self.venues.exchange_for(client_id, t.mode)
        except ExchangeError as exc:
            raise refusal_of(exc) from None
        price = await self.venues.price_now(t.symbol, ex)
        ts = self.venues.price_time(t.symbol)
        self.positions.close_reason[trade_id] = reason
        try:
            await self.monitor.close(trade_id, price, ts)
        except ExchangeError as exc:
            # the position stays open, tracked and protected
            self.positions.close_reason.pop(trade_id, None)
            raise refusal_of(exc) from None
        return await self.trade_of(client_id, trade_id)

    async def amend(
        self,
        client_id: int,
        trade_id: int,
        *,
        stop_loss: Decimal | None = None,
        take_profits: tuple[tuple[Decimal, Decimal], ...] | None = None,
    ) -> TradeRecord:
        """Move the stop and/or replace the take-profit targets of an open trade."""
        t = await self.trade_of(client_id, trade_id)
        if t.status != "open" or trade_id not in self.monitor.positions:
            raise Conflict("not_open", f"trade {trade_id} is {t.status}")
        try:
            filters = await self.venues.filters(t.symbol)
        except ExchangeError as exc:
            raise refusal_of(exc) from None
        ts = self.venues.price_time(t.symbol)
        if take_profits is not None:
            plan = json.loads(t.plan or "{}")
            plan["take_profits"] = [[str(r), str(f)] for r, f in take_profits]
            async with self.db.write() as s:
                row = await repo.get_trade(s, trade_id)
                assert row is not None
                row.plan = json.dumps(plan)
                await repo.log(s, trade_id, "targets_changed", take_profits=plan["take_profits"])
            tracked = self.monitor.positions.pop(trade_id)
            state = self.monitor.tracker.remove(trade_id)
            assert state is not None
            await self.monitor.add(
                tracked,
                entry=state.entry,
                stop=state.initial_stop,
                qty=state.qty,
                plan=plan_from_json(json.dumps(plan)),
                opened_at=state.opened_at,
                current_stop=state.stop,
            )
        if stop_loss is not None:
            new = filters.round_price(stop_loss)
            price = self.venues.last_price(t.symbol)
            if price is not None and (
                (t.side == "BUY" and new >= price) or (t.side == "SELL" and new <= price)
            ):
                raise InvalidRequest(
                    "stop_loss_side",
                    f"the stop-loss {fmt(new)} would trigger at once (price {fmt(price)})",
                )
            try:
                await self.monitor.set_stop(trade_id, new, ts)
            except InvalidParameterError as exc:
                raise InvalidRequest(
                    "stop_loss_loosen",
                    f"a stop only moves in the position's favour: {exc}",
                ) from None
        return await self.trade_of(client_id, trade_id)

    async def kill_switch(self, active: bool, reason: str = "") -> list[int]:
        """Turn the kill switch on (close everything, stop entries) or off."""
        self.risk.set_kill_switch(active, reason)
        closed: list[int] = []
        if not active:
            return closed
        for trade_id, tr in list(self.monitor.positions.items()):
            try:
                await self.close(tr.client_id, trade_id, reason="kill_switch")
                closed.append(trade_id)
            except Refusal as exc:
                log.warning("kill switch: trade %d not closed: %s", trade_id, exc.detail)
        return closed

    # -- risk and the trading account --------------------------------------------------

    async def unblock(self, client_id: int | None) -> list[int]:
        """Lift the drawdown block (admin)."""
        done = self.risk.unblock(client_id)
        for cid in done:
            await self.booking.save_risk(cid)
        return done

    async def risk_status(self, client_id: int) -> RiskStatus:
        """The client's risk state, against its trading account's equity now."""
        mode = (await self.params(client_id)).mode
        equity = (await self.venues.valuation(client_id, mode)).equity
        status = self.risk.status(client_id, mode, equity, self.positions.exposure(client_id))
        await self.booking.save_risk(client_id, if_changed=True)
        return status

    async def account(self, client_id: int, mode: str | None = None) -> AccountView:
        """``GET /trades/account``: balances, equity, exposure, realized and unrealized P&L."""
        if mode is None:
            mode = (await self.params(client_id)).mode
        val = await self.venues.valuation(client_id, mode)
        async with self.db.read() as s:
            paper = await repo.paper_account(s, client_id) if mode == "paper" else None
            since = paper.since_trade_id if paper is not None else 0
            realized = await repo.realized(s, client_id, mode=mode, after_trade_id=since)
            held = [t for t in await repo.held_exposure(s, client_id) if t.mode == mode]
        positions: list[PositionValue] = []
        unrealized = D0
        for t in held:
            if t.status != "open" or t.entry_price is None:
                continue
            price = await self.venues.mark_price(t.symbol)
            pnl = None if price is None else (price - t.entry_price) * t.open_quantity
            unrealized += pnl or D0
            positions.append(
                PositionValue(t.id, t.symbol, t.open_quantity, t.entry_price, price, pnl)
            )
        return AccountView(
            client_id=client_id,
            mode=mode,
            currency=val.currency,
            equity=val.equity,
            balances=val.assets,
            unpriced=val.unpriced,
            positions=positions,
            open_exposure=sum((t.exposure for t in held), D0),
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            starting_balance=paper.starting_balance if paper is not None else None,
            reset_at=paper.reset_at.isoformat().replace("+00:00", "Z") if paper else None,
        )

    async def reset_paper_account(self, client_id: int, balance: Decimal) -> AccountView:
        """Start the client's paper account again from ``balance`` (account currency).

        Refused while a paper trade is open or pending (close it first): a
        reset never strands a position. The peak equity restarts too.
        """
        currency = self.venues.settings.account_currency
        async with self.locks(client_id):
            async with self.db.write() as s:
                await repo.lock_entries(s, client_id)
                held = [t for t in await repo.held_exposure(s, client_id) if t.mode == "paper"]
                if held:
                    raise Conflict(
                        "positions_open",
                        f"{len(held)} paper trade(s) are open or pending "
                        f"({', '.join(str(t.id) for t in held)}): close them before a reset",
                    )
                since = await repo.last_trade_id(s)
                await repo.save_paper_account(
                    s, client_id, currency=currency, starting_balance=balance, since=since
                )
            await self.venues.reset_paper(client_id, balance)
            st = self.risk.state(client_id)
            if st.mode == "paper":
                st.peak_equity = None
                st.day_start_equity = D0
            await self.booking.save_risk(client_id)
        log.info(
            "paper account of client %d reset to %s %s",
            client_id,
            fmt(balance),
            currency,
            extra={"event": "paper_reset", "client_id": client_id, "balance": fmt(balance)},
        )
        return await self.account(client_id, "paper")
