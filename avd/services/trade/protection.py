"""Live positions on the exchange: the protective stop order and the exits at the market.

A live (or simulator) position carries a STOP_LOSS_LIMIT order at its
tracked stop, so that it is protected while the platform is down. Each
version of it has its own deterministic client order id
(``...-s<version>``); a stop move cancels it and places the next version.

An exit at the market cancels the protective stop first (it holds the
quantity); if the exchange had filled it already, that fill is the exit. An
exit asked for now that fails (the exchange refused it or cannot be reached)
leaves the position protected: the old stop if it still works, else a new
version.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from avd.exchange.exchange import (
    ExchangeError,
    OrderReport,
    OrderRequest,
    client_order_id,
)
from avd.trading import StopTracker

if TYPE_CHECKING:
    from avd.services.trade.stops import StopSink, Tracked

log = logging.getLogger(__name__)


class Protection:
    """The protective stop orders and the market exits of the live positions."""

    def __init__(
        self,
        tracker: StopTracker,
        sink: StopSink,
        *,
        enabled: bool = True,
        stop_limit_offset_bps: Decimal = Decimal(50),
    ) -> None:
        self.tracker = tracker
        self.sink = sink
        #: whether live positions carry a protective stop order
        self.enabled = enabled
        self.offset = stop_limit_offset_bps / Decimal(10000)

    def request(self, t: Tracked, version: int) -> OrderRequest | None:
        """The protective STOP_LOSS_LIMIT order of a position at its tracked stop."""
        st = self.tracker.get(t.trade_id)
        if st is None:
            return None
        stop = st.stop
        limit = stop * (1 - self.offset) if t.exit_side == "SELL" else stop * (1 + self.offset)
        return OrderRequest(
            symbol=t.symbol,
            side=t.exit_side,
            type="STOP_LOSS_LIMIT",
            quantity=st.qty,
            price=t.filters.round_price(limit, t.exit_side),
            stop_price=stop,
            client_order_id=client_order_id(t.client_id, t.trade_id, f"s{version}", t.namespace),
        )

    async def place(self, t: Tracked) -> None:
        """Place the position's protective stop (its current version) unless the exchange has it."""
        req = self.request(t, t.stop_version)
        if req is None:
            return
        try:
            existing = await t.exchange.get_order(t.symbol, req.client_order_id)
            if existing is None:  # never twice: the id is looked up first
                placed = await t.exchange.place_order(req)
                await self.sink.order_recorded(t, "stop", placed)
            t.protective_id = req.client_order_id
        except ExchangeError as exc:
            log.warning("trade %d: protective stop not placed: %s", t.trade_id, exc.message)

    async def place_next(self, t: Tracked) -> None:
        """Place the next version of the protective stop (for what is left of the position)."""
        if self.enabled:
            t.stop_version += 1
            await self.place(t)

    async def replace(self, t: Tracked) -> None:
        """The stop moved: cancel the protective order and place the next version."""
        old = t.protective_id
        if old is not None:
            try:
                cancelled = await t.exchange.cancel_order(t.symbol, old)
                await self.sink.order_recorded(t, "stop", cancelled)
            except ExchangeError as exc:
                log.warning("trade %d: cancel of stop %s: %s", t.trade_id, old, exc.message)
                return  # it may have filled: the tracker's close handles it
        t.stop_version += 1
        t.protective_id = None
        await self.place(t)

    async def cancel(self, t: Tracked) -> OrderReport | None:
        """Cancel the protective stop; its report if the exchange already filled it."""
        if t.protective_id is None:
            return None
        cid, t.protective_id = t.protective_id, None
        try:
            cancelled = await t.exchange.cancel_order(t.symbol, cid)
            await self.sink.order_recorded(t, "stop", cancelled)
            return None
        except ExchangeError:
            got = await t.exchange.get_order(t.symbol, cid)
            return got if got is not None and got.executed_qty > 0 else None

    async def market_exit(
        self, t: Tracked, qty: Decimal, price: Decimal, leg: str
    ) -> tuple[OrderReport, Decimal, Decimal]:
        """Sell ``qty`` at the market: the report, the quantity sold and its price.

        The protective stop is cancelled first; if the exchange had filled it
        already, that fill is the exit.
        """
        filled = await self.cancel(t) if self.enabled else None
        if filled is not None:
            return filled, filled.executed_qty, filled.average_price
        req = OrderRequest(
            symbol=t.symbol,
            side=t.exit_side,
            type="MARKET",
            quantity=qty,
            client_order_id=client_order_id(t.client_id, t.trade_id, leg, t.namespace),
        )
        report = await t.exchange.place_order(req)
        return report, qty, report.average_price if report.executed_qty > 0 else price

    async def exit_now(
        self, t: Tracked, qty: Decimal, price: Decimal, leg: str
    ) -> tuple[OrderReport, Decimal, Decimal]:
        """:meth:`market_exit` asked for now; when it fails the position stays protected.

        Raises
        ------
        ExchangeError
            The exchange refused the exit or could not be reached.
        """
        protective = t.protective_id
        try:
            return await self.market_exit(t, qty, price, leg)
        except ExchangeError:
            await self._restore(t, protective)
            raise

    async def _restore(self, t: Tracked, old: str | None) -> None:
        """After a failed exit: the position's protective stop works on the exchange again.

        The old one if it still works (or if the exchange cannot say: the
        next cancel finds out), else a new version at the tracked stop.
        """
        if not self.enabled or t.protective_id is not None:
            return
        if old is not None:
            try:
                got = await t.exchange.get_order(t.symbol, old)
            except ExchangeError:
                got = None
                t.protective_id = old
            if got is not None and got.is_open:
                t.protective_id = old
            if t.protective_id is not None:
                return
        await self.place_next(t)
