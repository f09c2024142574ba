"""Paper trading: orders filled by the Rust fill model against the market stream.

Nothing is ever sent to an exchange. A market order fills at once against
the latest price of the stream (with the fill model's fees and slippage),
unless it carries ``after_ms`` (a signal's candle close): then it waits, like
limit and stop-limit orders, as a :class:`~avd.trading.SimOrder`, and fills at
the first trade after that time plus the model's latency, which is the next
candle's open, exactly as the backtester fills it. Working orders see the
market through :meth:`PaperExchange.on_kline` (a candle's first trade, its
open, at its open time; a closed candle seen whole runs along the fill
model's intrabar path) and :meth:`PaperExchange.on_price`
(:mod:`avd.exchange.paper_market`). The balances, in ``Decimal``, are in
:mod:`avd.exchange.paper_account`; which asset is the base and which the
quote comes from each symbol's :class:`~avd.exchange.exchange.SymbolInfo`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from decimal import Decimal

from avd.exchange.exchange import (
    AccountTrade,
    Balance,
    ExchangeError,
    OrderFill,
    OrderListener,
    OrderReport,
    OrderRequest,
    SymbolInfo,
)
from avd.exchange.order_log import log_order
from avd.exchange.paper_account import PaperAccount, commission_asset
from avd.exchange.paper_market import PaperMarket, Working
from avd.trading import Fill, FillModel, FilterViolation, SymbolFilters


def _now_ms() -> int:
    return int(time.time() * 1000)


class PaperExchange:
    """An :class:`~avd.exchange.exchange.Exchange` that fills on paper."""

    mode = "paper"

    def __init__(
        self,
        symbols: dict[str, SymbolInfo],
        balances: dict[str, Decimal] | None = None,
        *,
        model: FillModel | None = None,
    ) -> None:
        #: the tradable symbols (the trade engine shares its own cache here)
        self.symbols = dict(symbols)
        self.model = model if model is not None else FillModel()
        self.account = PaperAccount(
            balances if balances is not None else {"USDT": Decimal("10000")}
        )
        self.market = PaperMarket(self._filled)
        self._orders: dict[str, OrderReport] = {}
        self._ids = itertools.count(1)
        self._listeners: list[OrderListener] = []

    # -- plumbing -------------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to disconnect."""

    def on_order_update(self, listener: OrderListener) -> None:
        """Call ``listener`` when a working order fills."""
        self._listeners.append(listener)

    def _info(self, symbol: str) -> SymbolInfo:
        try:
            return self.symbols[symbol]
        except KeyError:
            raise ExchangeError(f"invalid symbol {symbol}", code=-1121) from None

    def split(self, symbol: str) -> tuple[str, str]:
        """(base, quote) of ``symbol`` as the exchange lists it (``BTC``, ``USDT``)."""
        info = self._info(symbol)
        return info.base, info.quote

    async def symbol_info(self, symbol: str) -> SymbolInfo:
        """The symbol as given at construction (or added since)."""
        return self._info(symbol)

    async def last_price(self, symbol: str) -> Decimal:
        """The latest price fed by the market stream."""
        return self.market.last_price(symbol)

    # -- orders ---------------------------------------------------------------------

    def _check_funds(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> None:
        self.account.check_funds(*self.split(symbol), side, qty, price)

    def _apply_fill(self, symbol: str, side: str, fill: Fill, *, locked: Decimal) -> None:
        self.account.book_fill(*self.split(symbol), side, fill, locked=locked)

    def book(
        self,
        symbol: str,
        side: str,
        price: Decimal,
        qty: Decimal,
        commission: Decimal,
        commission_asset: str,
        *,
        locked: Decimal = Decimal(0),
    ) -> None:
        """Move the balances for one fill (also used to replay recorded fills at a restart)."""
        base, quote = self.split(symbol)
        self.account.book(
            base, quote, side, price, qty, commission, commission_asset, locked=locked
        )

    async def settle(
        self,
        symbol: str,
        side: str,
        qty: Decimal,
        price: Decimal,
        ts: int,
        client_order_id: str,
        *,
        maker: bool = False,
    ) -> OrderReport:
        """An exit at the price the stop tracker reports.

        A take-profit rests as a limit order: ``maker=True`` fills it at its
        level with the maker fee. Any other exit is a market order: the
        taker fee, after the model's slippage (as the backtester's exits).
        """
        filters = self._info(symbol).filters
        if not maker:
            ex = self.model.execute(
                filters, side, qty, ts, points=[(ts + self.model.latency_ms, price)]
            )
            if not isinstance(ex, FilterViolation) and ex.fills:
                price = ex.fills[0].price
        fee = self.model.fee(filters, side, price, qty, maker=maker)
        base, quote = self.split(symbol)
        asset = base if side == "BUY" else quote
        self.book(symbol, side, price, qty, fee, asset)
        fill = OrderFill(price, qty, fee, asset, next(self._ids), ts)
        report = OrderReport(
            symbol=symbol,
            client_order_id=client_order_id,
            side=side,
            type="MARKET",
            status="FILLED",
            orig_qty=qty,
            executed_qty=qty,
            cumulative_quote=price * qty,
            order_id=next(self._ids),
            time=ts,
            fills=(fill,),
        )
        self._orders[client_order_id] = report
        self.account.record(report, report.fills)
        log_order("settled", "paper", report=report)
        return report

    def _fill_of(self, symbol: str, fill: Fill) -> OrderFill:
        return OrderFill(
            price=fill.price,
            qty=fill.qty,
            commission=fill.commission,
            commission_asset=commission_asset(*self.split(symbol), fill),
            trade_id=next(self._ids),
            ts=fill.ts,
        )

    async def place_order(self, order: OrderRequest) -> OrderReport:
        """Fill a MARKET order now; queue a LIMIT or STOP_LOSS_LIMIT order."""
        try:
            report = await self._place(order)
        except ExchangeError as exc:
            log_order("refused", "paper", order, error=f"{exc.code}: {exc.message}")
            raise
        log_order("placed", "paper", order, report)
        return report

    async def _place(self, order: OrderRequest) -> OrderReport:
        existing = self._orders.get(order.client_order_id)
        if existing is not None and existing.is_open:
            raise ExchangeError("Duplicate order sent.", code=-2010, rule="duplicate_order")
        filters = self._info(order.symbol).filters
        ts, last = self.market.prices.get(order.symbol, (0, Decimal(0)))
        if order.type == "MARKET" and order.after_ms is not None:
            return self._wait_market(order, filters)
        if order.type == "MARKET":
            last = await self.last_price(order.symbol)
            qty = filters.round_qty(order.quantity)
            violation = filters.check(last, qty)
            if violation is not None:
                raise ExchangeError(
                    f"Filter failure: {violation.filter} ({violation.detail})", code=-1013
                )
            self._check_funds(order.symbol, order.side, qty, last)
            ex = self.model.execute(filters, order.side, qty, ts, points=[(ts, last)])
            if isinstance(ex, FilterViolation):
                raise ExchangeError(f"Filter failure: {ex.filter} ({ex.detail})", code=-1013)
            fills = []
            for f in ex.fills:
                self._apply_fill(order.symbol, order.side, f, locked=Decimal(0))
                fills.append(self._fill_of(order.symbol, f))
            report = OrderReport(
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                side=order.side,
                type="MARKET",
                status="FILLED" if ex.remaining == 0 else "EXPIRED",
                orig_qty=qty,
                executed_qty=ex.filled,
                cumulative_quote=sum((f.price * f.qty for f in fills), Decimal(0)),
                order_id=next(self._ids),
                time=ts or _now_ms(),
                fills=tuple(fills),
            )
            self._orders[order.client_order_id] = report
            self.account.record(report, report.fills)
            return report
        if order.price is None:
            raise ExchangeError("a LIMIT order needs a price", code=-1102)
        side_round = "BUY" if order.side == "BUY" else "SELL"
        price = filters.round_price(order.price, side_round)
        qty = filters.round_qty(order.quantity)
        violation = filters.check(price, qty)
        if violation is not None:
            raise ExchangeError(
                f"Filter failure: {violation.filter} ({violation.detail})", code=-1013
            )
        self._check_funds(order.symbol, order.side, qty, price)
        base, quote = self.split(order.symbol)
        lock_asset, lock_amount = (quote, qty * price) if order.side == "BUY" else (base, qty)
        self.account.lock(lock_asset, lock_amount)
        stop = filters.round_price(order.stop_price) if order.stop_price is not None else None
        sim = self.model.submit(
            filters,
            order.side,
            qty,
            ts,
            order_type=order.type,
            price=price,
            stop_price=stop,
        )
        report = OrderReport(
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            side=order.side,
            type=order.type,
            status="NEW",
            orig_qty=qty,
            executed_qty=Decimal(0),
            cumulative_quote=Decimal(0),
            order_id=next(self._ids),
            price=price,
            stop_price=stop or Decimal(0),
            time=ts or _now_ms(),
        )
        self._orders[order.client_order_id] = report
        self.market.working[order.client_order_id] = Working(report, sim)
        return report

    def _wait_market(self, order: OrderRequest, filters: SymbolFilters) -> OrderReport:
        """A MARKET order that fills at the first trade after ``order.after_ms``."""
        assert order.after_ms is not None
        qty = filters.round_qty(order.quantity)
        if qty <= 0:
            raise ExchangeError("Filter failure: LOT_SIZE (quantity rounds to zero)", code=-1013)
        sim = self.model.submit(filters, order.side, qty, order.after_ms, order_type="MARKET")
        report = OrderReport(
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            side=order.side,
            type="MARKET",
            status="NEW",
            orig_qty=qty,
            executed_qty=Decimal(0),
            cumulative_quote=Decimal(0),
            order_id=next(self._ids),
            time=order.after_ms,
        )
        self._orders[order.client_order_id] = report
        self.market.working[order.client_order_id] = Working(report, sim, market=True)
        return report

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel a working order and release what it locked."""
        w = self.market.working.pop(client_order_id, None)
        if w is None:
            raise ExchangeError("Unknown order sent.", code=-2011)
        r = w.report
        base, quote = self.split(symbol)
        left = r.orig_qty - r.executed_qty
        asset, amount = (quote, left * r.price) if r.side == "BUY" else (base, left)
        if w.market:
            amount = Decimal(0)
        self.account.release(asset, amount)
        done = replace(r, status="CANCELED")
        self._orders[client_order_id] = done
        log_order("cancelled", "paper", report=done)
        return done

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order with this id, or None."""
        return self._orders.get(client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """The working orders."""
        return [
            w.report
            for w in self.market.working.values()
            if symbol is None or w.report.symbol == symbol
        ]

    async def balances(self) -> dict[str, Balance]:
        """Paper balances."""
        return self.account.balances()

    async def trades_since(self, symbol: str, since_ms: int) -> list[AccountTrade]:
        """Paper trades at or after ``since_ms``."""
        return self.account.trades_since(symbol, since_ms)

    # -- the market -----------------------------------------------------------------

    async def on_kline(
        self,
        symbol: str,
        open_time: int,
        close_time: int,
        candle: tuple[Decimal, Decimal, Decimal, Decimal, Decimal],
        *,
        closed: bool,
        ts: int,
    ) -> None:
        """A kline of the stream: ``candle`` is (open, high, low, close, volume).

        The first time a candle is seen, its open is a trade at its open
        time: a waiting order fills there first. A candle first seen closed
        is offered whole to the working orders (the fill model's intrabar
        path, as in the backtester); otherwise its latest price is.
        """
        await self.market.on_kline(symbol, open_time, close_time, candle, closed=closed, ts=ts)

    def mark(self, symbol: str, ts: int, price: Decimal) -> None:
        """Know the market price of ``symbol`` without matching any order (a new account)."""
        self.market.prices[symbol] = (ts, price)

    async def on_price(self, symbol: str, ts: int, price: Decimal) -> None:
        """A new market price: fill what it reaches."""
        await self.market.on_price(symbol, ts, price)

    async def _filled(self, cid: str, w: Working, fill: Fill) -> None:
        """Book one fill of a working order and tell the listeners."""
        r = w.report
        symbol = r.symbol
        if w.market:
            try:
                self._check_funds(symbol, r.side, fill.qty, fill.price)
            except ExchangeError:
                # as Binance would have refused it: nothing fills
                del self.market.working[cid]
                expired = replace(r, status="EXPIRED")
                self._orders[cid] = expired
                for listener in self._listeners:
                    await listener(expired)
                return
            self._apply_fill(symbol, r.side, fill, locked=Decimal(0))
        else:
            self._apply_fill(symbol, r.side, fill, locked=fill.qty * r.price)
            if r.side == "BUY" and fill.price < r.price:  # price improvement unlocks the rest
                _base, quote = self.split(symbol)
                freed = fill.qty * (r.price - fill.price)
                self.account.release(quote, freed)
        of = self._fill_of(symbol, fill)
        executed = r.executed_qty + fill.qty
        new = replace(
            r,
            executed_qty=executed,
            cumulative_quote=r.cumulative_quote + fill.price * fill.qty,
            status="FILLED" if executed >= r.orig_qty else "PARTIALLY_FILLED",
            time=fill.ts,
            fills=(*r.fills, of),
        )
        self.account.record(new, (of,))
        self._orders[cid] = new
        if new.is_open:
            w.report = new
        else:
            del self.market.working[cid]
        for listener in self._listeners:
            await listener(new)
