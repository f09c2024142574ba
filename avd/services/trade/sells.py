"""A manual SELL: it reduces or closes what the client holds in a symbol (spot: no shorts).

The client's open longs in the symbol (in its current mode) are sold first
in, first out: each one sold whole is closed, the one sold in part keeps its
stop and plan for the rest. ``quantity`` (or ``quote_amount`` at the market
price) says how much; neither sells everything held. Nothing held, more
than is held, or a rest below the symbol's minimums is refused, and nothing
is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from avd.domain.bus import EventBus
from avd.domain.errors import Conflict, InvalidRequest, Refusal
from avd.exchange.exchange import ExchangeError
from avd.services.trade.booking import fmt
from avd.services.trade.entries import ClientLocks, Entries, publish_rejected
from avd.services.trade.manual import Manual
from avd.services.trade.plans import TradeOrder
from avd.services.trade.stops import StopMonitor
from avd.services.trade.venues import Venues, refusal_of
from avd.store import trades as repo
from avd.store.database import Database
from avd.store.models import TradeRecord

D0 = Decimal(0)
QTY_Q = Decimal("1e-20")


@dataclass(frozen=True)
class SellResult:
    """What a manual SELL did: how much it sold and the trades it reduced or closed."""

    symbol: str
    quantity: Decimal
    trades: list[TradeRecord]


class Sells:
    """Manual SELLs of a holding, first in, first out."""

    def __init__(
        self,
        db: Database,
        hub: EventBus,
        venues: Venues,
        monitor: StopMonitor,
        entries: Entries,
        manual: Manual,
        locks: ClientLocks,
    ) -> None:
        self.db = db
        self.hub = hub
        self.venues = venues
        self.monitor = monitor
        self.entries = entries
        self.manual = manual
        self.locks = locks

    async def sell(self, client_id: int, order: TradeOrder) -> SellResult:
        """Sell (part of) the client's holding in ``order.symbol``.

        Raises
        ------
        Refusal
            Nothing held, too much, a rest below the minimums, or the
            exchange failed (announced as an ``OrderRejected`` too).
        """
        try:
            async with self.locks(client_id):
                return await self._sell(client_id, order)
        except Refusal as exc:
            await publish_rejected(self.hub, client_id, order, "manual", exc)
            raise

    async def _sell(self, client_id: int, order: TradeOrder) -> SellResult:
        if order.type != "MARKET":
            raise InvalidRequest(
                "sell_market_only",
                "a SELL reduces or closes a holding at the market; "
                "set take-profit targets on the trade for a limit exit",
            )
        if order.risk_percent is not None:
            raise InvalidRequest(
                "sell_size", "a SELL takes a quantity or a quote_amount (or neither: all)"
            )
        params, ex, info = await self.entries.venue(client_id, order.symbol)
        filters, mode = info.filters, params.mode
        async with self.db.read() as s:
            held = [
                t
                for t in await repo.held_exposure(s, client_id)
                if t.mode == mode
                and t.symbol == order.symbol
                and t.status == "open"
                and t.id in self.monitor.positions
            ]
        total = sum((t.open_quantity for t in held), D0)
        if not held or total <= 0:
            raise Conflict(
                "no_holding",
                f"nothing of {order.symbol} is held in the {mode} account to sell "
                "(spot trading holds no shorts)",
            )
        price = await self.venues.price_now(order.symbol, ex)
        if order.quantity is not None:
            want = filters.round_qty(order.quantity)
        elif order.quote_amount is not None:
            want = filters.round_qty((order.quote_amount / price).quantize(QTY_Q, ROUND_DOWN))
        else:
            want = total
        if want <= 0:
            raise InvalidRequest(
                "quantity", "the quantity rounds to zero at the symbol's step size"
            )
        if want > total:
            raise InvalidRequest(
                "sell_exceeds_holding",
                f"selling {fmt(want)} {order.symbol} but {fmt(total)} is held",
                requested=fmt(want),
                held=fmt(total),
            )
        # FIFO: whole trades first, then part of one
        plan: list[tuple[TradeRecord, Decimal]] = []
        left = want
        for t in held:
            if left <= 0:
                break
            take = min(left, t.open_quantity)
            plan.append((t, take))
            left -= take
        last, part = plan[-1]
        if part < last.open_quantity:
            rest = last.open_quantity - part
            for what, q in (("the sale", part), ("the rest", rest)):
                v = filters.check(price, q)
                if v is not None:
                    raise InvalidRequest(
                        "sell_leaves_dust",
                        f"{what} of trade {last.id} ({fmt(q)} at {fmt(price)}) breaks "
                        f"{v.filter} ({v.detail}); sell all {fmt(total)} or a different amount",
                    )
        ts = self.venues.price_time(order.symbol)
        done: list[int] = []
        for t, q in plan:
            if q == t.open_quantity:
                await self.manual.close_unlocked(client_id, t.id, reason="manual")
            else:
                await self._reduce(t, q, price, ts)
            done.append(t.id)
        trades = [await self.manual.trade_of(client_id, tid) for tid in done]
        return SellResult(order.symbol, want, trades)

    async def _reduce(self, t: TradeRecord, qty: Decimal, price: Decimal, ts: int) -> None:
        """Sell ``qty`` of an open trade (its ``m<n>`` leg: the n-th manual part sale)."""
        async with self.db.read() as s:
            n = sum(
                1
                for o in await repo.orders_of(s, t.id)
                if o.client_order_id.rsplit("-", 1)[-1].startswith("m")
            )
        try:
            await self.monitor.reduce(t.id, qty, price, ts, leg=f"m{n + 1}")
        except ExchangeError as exc:
            raise refusal_of(exc) from None
