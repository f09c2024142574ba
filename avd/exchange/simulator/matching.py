"""The matcher: places, fills and cancels orders against the replayed market.

Prices and fees come from the :class:`~.fill_model.FillModel`; balances move
with exact Decimal arithmetic. Every state change is reported to listeners
as Binance user-data events (``executionReport`` then
``outboundAccountPosition``). Order and trade times are wall-clock ms, like
``/time``; the market's own candle times are the replay clock's.

The events' shape is in :mod:`.order_events`, the listing of past orders
and trades in :mod:`.order_history`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP
from typing import Any

from . import order_history
from .accounts import Account, Accounts
from .errors import (
    BinanceError,
    duplicate,
    filter_failure,
    insufficient,
    no_such_order,
    unknown_order,
    would_take,
    would_trigger,
)
from .exchange_info import SymbolRules
from .faults import Faults
from .fill_model import Fill, FillModel, FillRequest, Quote
from .market import Market, Tick
from .numbers import EIGHT, ZERO, units_to_dec
from .order_events import account_position, execution_report
from .orders import LIMIT_TYPES, STOP_TYPES, NewOrder, Order, Trade

Listener = Callable[[str, dict[str, Any]], None]


def now_ms() -> int:
    """Wall-clock epoch ms."""
    return time.time_ns() // 1_000_000


def _rises(o: Order) -> bool:
    """True when the stop triggers on a rise to ``stopPrice``."""
    return (o.type.startswith("STOP_LOSS") and o.side == "BUY") or (
        o.type.startswith("TAKE_PROFIT") and o.side == "SELL"
    )


class Matcher:
    """Orders of every account on every replayed symbol."""

    def __init__(
        self,
        market: Market,
        rules: dict[str, SymbolRules],
        accounts: Accounts,
        fill_model: FillModel,
        faults: Faults,
    ) -> None:
        self.market = market
        self.rules = rules
        self.accounts = accounts
        self.model = fill_model
        self.faults = faults
        self.orders: dict[int, Order] = {}
        self.open: dict[str, dict[int, Order]] = {s: {} for s in rules}
        self.listeners: list[Listener] = []
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._exec_ids = itertools.count(1)

    # -- market ---------------------------------------------------------

    def quote(self, symbol: str, low: int | None = None, high: int | None = None) -> Quote:
        """The market of ``symbol`` now (the last step's traded range if given)."""
        sm = self.market.symbols[symbol]
        bid, bq, ask, aq = sm.book.top()
        last = units_to_dec(sm.price)
        return Quote(
            symbol,
            self.market.now,
            last,
            units_to_dec(bid),
            units_to_dec(bq),
            units_to_dec(ask),
            units_to_dec(aq),
            last if low is None else units_to_dec(low),
            last if high is None else units_to_dec(high),
            units_to_dec(sm.tick_units),
        )

    # -- events ---------------------------------------------------------

    def _emit(self, api_key: str, event: dict[str, Any]) -> None:
        for fn in self.listeners:
            fn(api_key, event)

    def _report(
        self, o: Order, x: str, t: Trade | None = None, orig: str = "", cid: str | None = None
    ) -> None:
        now = now_ms()
        event = execution_report(
            o, x, now=now, exec_id=next(self._exec_ids), t=t, orig=orig, cid=cid
        )
        self._emit(o.api_key, event)

    def _position(self, acct: Account, assets: set[str]) -> None:
        now = now_ms()
        acct.update_time = now
        self._emit(acct.api_key, account_position(acct, assets, now))

    # -- placing --------------------------------------------------------

    def place(self, acct: Account, req: NewOrder, test: bool = False) -> dict[str, Any]:
        """Place (or, with ``test``, only validate) an order; the POST /order answer."""
        r = self.rules[req.symbol]
        q = self.quote(req.symbol)
        qty = req.qty
        market_like = req.type in ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
        if req.type == "MARKET":
            if req.quote_order_qty > ZERO:
                px = q.ask if req.side == "BUY" else q.bid
                qty = (req.quote_order_qty / px / r.step).to_integral_value(ROUND_DOWN) * r.step
                r.check_qty(qty, market=True)
            r.check_notional(qty * q.last, market=True)
        elif req.type in ("STOP_LOSS", "TAKE_PROFIT"):
            r.check_notional(qty * req.stop_price, market=True)
        if test:
            return {}
        if self.faults.take("reject_orders"):
            raise BinanceError(-2010, "Order was rejected (simulated fault).")
        if req.client_id is not None and any(
            o.client_id == req.client_id and o.api_key == acct.api_key
            for o in self.open[req.symbol].values()
        ):
            raise duplicate()
        order_id = next(self._order_ids)
        now = now_ms()
        o = Order(
            symbol=req.symbol,
            order_id=order_id,
            client_id=req.client_id or f"sim-{order_id:016d}",
            side=req.side,
            type=req.type,
            tif=req.tif,
            qty=qty,
            price=req.price,
            stop_price=req.stop_price,
            quote_order_qty=req.quote_order_qty,
            time=now,
            api_key=acct.api_key,
            update_time=now,
            working_time=now,
        )
        if req.type in STOP_TYPES:
            last = q.last
            if (last >= o.stop_price) if _rises(o) else (last <= o.stop_price):
                raise would_trigger()
            o.working = False
            o.working_time = -1
        if req.type == "LIMIT_MAKER" and (
            (o.side == "BUY" and o.price >= q.ask) or (o.side == "SELL" and o.price <= q.bid)
        ):
            raise would_take()
        # funds: limit-priced orders lock at their price, market sells lock their quantity
        if req.side == "BUY":
            if req.type in LIMIT_TYPES:
                acct.lock(r.quote, o.price * qty)
                o.locked = o.price * qty
            elif req.type == "MARKET":
                need = req.quote_order_qty if req.quote_order_qty > ZERO else qty * q.ask
                acct.require(r.quote, need)
            else:
                acct.require(r.quote, qty * o.stop_price)
        else:
            acct.lock(r.base, qty)
            o.locked = qty
        if self.faults.take("partial_fills"):
            o.partial = self.faults.state.partial_fraction
        self.orders[order_id] = o
        self.open[o.symbol][order_id] = o
        self._report(o, "NEW")
        fills: list[Trade] = []
        if o.working:
            fills = self._take(o, acct, q, market_like)
        self._position(acct, {r.base, r.quote})
        return o.response(req.resp_type, now, fills)

    # -- filling --------------------------------------------------------

    def _take(self, o: Order, acct: Account, q: Quote, market: bool) -> list[Trade]:
        """Fill an arriving order; what does not fill rests, or expires for MARKET/IOC/FOK."""
        req = FillRequest(o.side, o.remaining, None if market else o.price, resting=False)
        trades = self._apply(o, acct, self.model.fill(req, q))
        if o.is_open and (market or o.tif in ("IOC", "FOK")):
            self._close(o, acct, "EXPIRED")
        return trades

    def _apply(self, o: Order, acct: Account, fills: list[Fill]) -> list[Trade]:
        r = self.rules[o.symbol]
        out = []
        for f in fills:
            qty = min(f.qty, o.remaining)
            if o.partial is not None:
                cap = (o.qty * o.partial / r.step).to_integral_value(ROUND_DOWN) * r.step
                qty = min(qty, max(cap, r.step))
                o.partial = None
            if qty <= ZERO:
                continue
            rate = self.model.fee_rate(f.maker)
            quote_qty = f.price * qty
            if o.side == "BUY":
                if o.locked > ZERO:
                    release = o.price * qty
                    b = acct.balance(r.quote)
                    b.locked -= release
                    b.free += release - quote_qty
                    o.locked -= release
                else:
                    if acct.balance(r.quote).free < quote_qty:
                        raise insufficient()
                    acct.balance(r.quote).free -= quote_qty
                fee = (qty * rate).quantize(EIGHT, rounding=ROUND_HALF_UP)
                acct.balance(r.base).free += qty - fee
                asset = r.base
            else:
                b = acct.balance(r.base)
                b.locked -= qty
                o.locked -= qty
                fee = (quote_qty * rate).quantize(EIGHT, rounding=ROUND_HALF_UP)
                acct.balance(r.quote).free += quote_qty - fee
                asset = r.quote
            now = now_ms()
            t = Trade(
                next(self._trade_ids),
                o.order_id,
                f.price,
                qty,
                quote_qty,
                fee,
                asset,
                now,
                o.side == "BUY",
                f.maker,
            )
            o.trades.append(t)
            o.executed += qty
            o.cum_quote += quote_qty
            o.update_time = now
            o.status = "FILLED" if o.remaining <= ZERO else "PARTIALLY_FILLED"
            if o.status == "FILLED":
                self._release(o, acct)
            self._report(o, "TRADE", t)
            out.append(t)
        return out

    def _release(self, o: Order, acct: Account) -> None:
        """Return whatever the order still holds locked, and forget it as open."""
        r = self.rules[o.symbol]
        if o.locked > ZERO:
            acct.unlock(r.quote if o.side == "BUY" else r.base, o.locked)
            o.locked = ZERO
        self.open[o.symbol].pop(o.order_id, None)

    def _close(self, o: Order, acct: Account, status: str, cid: str | None = None) -> None:
        o.status = status
        o.update_time = now_ms()
        self._release(o, acct)
        self._report(
            o,
            status if status != "CANCELED" else "CANCELED",
            orig=o.client_id if cid else "",
            cid=cid,
        )

    def on_tick(self, tick: Tick) -> None:
        """Trigger and fill the open orders of the ticked symbol."""
        book = self.open.get(tick.symbol)
        if not book:
            return
        q = self.quote(tick.symbol, tick.low, tick.high)
        touched: dict[str, Account] = {}
        for o in sorted(book.values(), key=lambda x: x.order_id):
            acct = self.accounts.by_key[o.api_key]
            before = (o.status, o.executed, o.working)
            if not o.working:
                hit = q.high >= o.stop_price if _rises(o) else q.low <= o.stop_price
                if not hit:
                    continue
                o.working = True
                o.working_time = now_ms()
                self._take(o, acct, q, market=o.type in ("STOP_LOSS", "TAKE_PROFIT"))
            else:
                req = FillRequest(o.side, o.remaining, o.price, resting=True)
                self._apply(o, acct, self.model.fill(req, q))
            if (o.status, o.executed, o.working) != before:
                touched[o.api_key] = acct
        for acct in touched.values():
            r = self.rules[tick.symbol]
            self._position(acct, {r.base, r.quote})

    # -- queries and cancels ------------------------------------------

    def find(
        self, acct: Account, symbol: str, order_id: str | None, orig_client_id: str | None
    ) -> Order | None:
        """An order of ``acct`` by id or client id (the open one first for a client id)."""
        if order_id:
            o = self.orders.get(int(order_id)) if order_id.isdigit() else None
            return o if o and o.api_key == acct.api_key and o.symbol == symbol else None
        if orig_client_id:
            found = [
                o
                for o in self.orders.values()
                if o.api_key == acct.api_key
                and o.symbol == symbol
                and o.client_id == orig_client_id
            ]
            found.sort(key=lambda o: (o.is_open, o.order_id))
            return found[-1] if found else None
        return None

    def get(self, acct: Account, symbol: str, oid: str | None, cid: str | None) -> Order:
        """GET /order, or -2013."""
        o = self.find(acct, symbol, oid, cid)
        if o is None:
            raise no_such_order()
        return o

    def cancel(
        self, acct: Account, symbol: str, oid: str | None, cid: str | None, new_cid: str | None
    ) -> dict[str, Any]:
        """DELETE /order, or -2011."""
        o = self.find(acct, symbol, oid, cid)
        if o is None or not o.is_open:
            raise unknown_order()
        cancel_id = new_cid or f"sim-cancel-{o.order_id}"
        self._close(o, acct, "CANCELED", cid=cancel_id)
        r = self.rules[symbol]
        self._position(acct, {r.base, r.quote})
        res = o.result()
        res = {"symbol": o.symbol, "origClientOrderId": o.client_id, **res}
        res["clientOrderId"] = cancel_id
        res["transactTime"] = o.update_time
        return res

    def cancel_all(self, acct: Account, symbol: str) -> list[dict[str, Any]]:
        """DELETE /openOrders."""
        mine = [o for o in self.open[symbol].values() if o.api_key == acct.api_key]
        if not mine:
            raise unknown_order()
        return [self.cancel(acct, symbol, str(o.order_id), None, None) for o in mine]

    def open_orders(self, acct: Account, symbol: str | None) -> list[Order]:
        """Open orders of ``acct`` (one symbol or all)."""
        books = [self.open[symbol]] if symbol else list(self.open.values())
        return sorted(
            (o for b in books for o in b.values() if o.api_key == acct.api_key),
            key=lambda o: o.order_id,
        )

    def all_orders(self, acct: Account, symbol: str, params: dict[str, str]) -> list[Order]:
        """GET /allOrders."""
        return order_history.all_orders(self.orders.values(), acct.api_key, symbol, params)

    def my_trades(self, acct: Account, symbol: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """GET /myTrades rows."""
        return order_history.my_trades(self.orders.values(), acct.api_key, symbol, params)


__all__ = ["Matcher", "filter_failure", "now_ms"]
