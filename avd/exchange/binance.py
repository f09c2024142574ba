"""Binance spot (live, or the local simulator) through python-binance's ``AsyncClient``.

The same class serves both: give it a factory that creates the client
(``AsyncClient.create`` for Binance, ``SimClient(address).create`` for the
simulator) and one that makes its socket manager.

* Every REST call goes through the process's one
  :class:`~avd.exchange.rest_limiter.RestLimiter` (given by the runtime:
  Binance counts the weight per IP, so every client of a process shares one
  budget, and waits out 429/418 with Retry-After).
* Quantities are rounded down to LOT_SIZE's step, limit prices to the tick
  in the passive direction, and an order that still breaks PRICE_FILTER,
  LOT_SIZE or NOTIONAL is refused locally with the rule and the numbers.
* On a timeout or a 5xx the order's status is unknown: it is looked up by its
  client order id before it is sent again, so nothing is placed twice.
* The user data stream (``user_socket()``, over the WebSocket API) is watched
  by :class:`~avd.exchange.binance_stream.UserDataStream`: on any error dict,
  and when the WebSocket API connection is lost, it is reopened and the
  tracked orders reconciled by REST.

The wire format (answers as reports, exceptions as :class:`ExchangeError`)
is in :mod:`avd.exchange.binance_wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from avd.exchange.binance_stream import UserDataStream, shutdown_client
from avd.exchange.binance_wire import (
    dec,
    fmt,
    parse_account_trade,
    parse_execution_report,
    parse_order,
    to_exchange_error,
)
from avd.exchange.exchange import (
    AccountTrade,
    Balance,
    ExchangeError,
    OrderListener,
    OrderReport,
    OrderRequest,
    SymbolInfo,
)
from avd.exchange.order_log import log_order
from avd.exchange.rest_limiter import RestLimiter

# the wire functions and shutdown_client were defined here first: still importable from here
__all__ = [
    "BinanceExchange",
    "fmt",
    "parse_execution_report",
    "parse_order",
    "shutdown_client",
    "to_exchange_error",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class BinanceExchange:
    """An :class:`~avd.exchange.exchange.Exchange` over python-binance."""

    def __init__(
        self,
        client_factory: Callable[[], Awaitable[Any]],
        socket_manager: Callable[[Any], Any] | None = None,
        *,
        mode: str = "live",
        limiter: RestLimiter,
        request_timeout_s: float = 10.0,
        max_attempts: int = 3,
        user_stream: bool = True,
        watch_interval_s: float = 0.5,
    ) -> None:
        self.mode = mode
        self._factory = client_factory
        self.limiter = limiter
        self.timeout = request_timeout_s
        self.max_attempts = max_attempts
        self._want_stream = user_stream and socket_manager is not None
        self.client: Any = None
        self._symbols: dict[str, SymbolInfo] = {}
        self._stream = UserDataStream(
            client_factory,
            socket_manager,
            watch_interval_s=watch_interval_s,
            on_account=self._account_update,
            on_lost=self._forget_balances,
        )
        #: set while the user data stream is connected
        self.stream_connected = self._stream.connected
        #: client order ids of the orders we watch (reconciled after a reconnect)
        self.tracked: dict[str, str] = {}
        #: the account's balances, kept by the user data stream (None: read again)
        self._balances: dict[str, Balance] | None = None
        self._balances_u = 0

    # -- life cycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Create the client and open the user data stream.

        Raises
        ------
        ExchangeError
            When the exchange cannot be reached or refuses the client.
        """
        if self.client is None:
            try:
                self.client = await self._factory()
            except Exception as exc:
                raise to_exchange_error(exc) from None
        if self._want_stream:
            self._stream.start()

    async def close(self) -> None:
        """Stop the user data stream and close the client."""
        await self._stream.stop()
        if self.client is not None:
            await shutdown_client(self.client)
            self.client = None

    def on_order_update(self, listener: OrderListener) -> None:
        """Call ``listener`` with every order update of the user data stream."""
        self._stream.listeners.append(listener)

    def on_reconnect(self, reconcile: Callable[[], Awaitable[None]]) -> None:
        """Run ``reconcile`` after the user data stream was reopened."""
        self._stream.reconcile = reconcile

    @property
    def stream_opens(self) -> int:
        """How many times the user data stream was (re)opened."""
        return self._stream.opens

    async def on_price(self, symbol: str, ts: int, price: Decimal) -> None:
        """The exchange matches orders itself: nothing to do."""

    # -- REST -----------------------------------------------------------------------

    async def _rest(self, weight: int, what: str, fn: Callable[[], Awaitable[T]]) -> T:
        if self.client is None:
            await self.start()

        async def timed() -> T:
            return await asyncio.wait_for(fn(), self.timeout)

        try:
            return await self.limiter.call(
                weight,
                timed,
                headers=lambda: getattr(getattr(self.client, "response", None), "headers", None),
                what=what,
            )
        except Exception as exc:
            raise to_exchange_error(exc) from None

    async def symbol_info(self, symbol: str) -> SymbolInfo:
        """The symbol's assets and filters from exchangeInfo (cached)."""
        got = self._symbols.get(symbol)
        if got is None:
            info = await self._rest(20, "exchangeInfo", lambda: self.client.get_symbol_info(symbol))
            if not info:
                raise ExchangeError(f"invalid symbol {symbol}", code=-1121)
            got = SymbolInfo.from_exchange_info(info)
            self._symbols[symbol] = got
        return got

    async def last_price(self, symbol: str) -> Decimal:
        """The latest price (``ticker/price``)."""
        t = await self._rest(2, "ticker", lambda: self.client.get_symbol_ticker(symbol=symbol))
        return dec(t["price"])

    async def prepare(self, order: OrderRequest) -> dict[str, str]:
        """The POST /order parameters, rounded to the filters; refused when they cannot fit."""
        f = (await self.symbol_info(order.symbol)).filters
        qty = f.round_qty(order.quantity)
        params: dict[str, str] = {
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type,
            "newClientOrderId": order.client_order_id,
            "newOrderRespType": "FULL",
        }
        if order.type == "MARKET":
            ref = await self.last_price(order.symbol)
        else:
            if order.price is None:
                raise ExchangeError(f"a {order.type} order needs a price", rule="missing_price")
            ref = f.round_price(order.price, order.side)
            params["price"] = fmt(ref)
            params["timeInForce"] = "GTC"
        if order.stop_price is not None:
            params["stopPrice"] = fmt(f.round_price(order.stop_price))
        violation = f.check(ref, qty)
        if violation is not None:
            raise ExchangeError(
                f"Filter failure: {violation.filter}: {violation.detail} "
                f"(quantity {fmt(order.quantity)} rounded to {fmt(qty)} at price {fmt(ref)})",
                code=-1013,
                rule=f"filter_{violation.filter.lower()}",
            )
        params["quantity"] = fmt(qty)
        return params

    async def place_order(self, order: OrderRequest) -> OrderReport:
        """Place once; on an unknown status look the order up by its id before resending."""
        try:
            report = await self._place(order)
        except ExchangeError as exc:
            log_order("refused", self.mode, order, error=f"{exc.code}: {exc.message}")
            raise
        # the account changed: read it again (the stream keeps it current after)
        self._balances = None
        log_order("placed", self.mode, order, report)
        return report

    async def _place(self, order: OrderRequest) -> OrderReport:
        params = await self.prepare(order)
        self.tracked[order.client_order_id] = order.symbol
        last: ExchangeError | None = None
        for attempt in range(self.max_attempts):
            try:
                raw = await self._rest(1, "POST /order", lambda: self.client.create_order(**params))
                return parse_order(raw)
            except ExchangeError as exc:
                duplicate = exc.code == -2010 and "Duplicate" in exc.message
                if not exc.status_unknown and not duplicate:
                    self.tracked.pop(order.client_order_id, None)
                    raise
                last = exc
            log.warning(
                "order %s: %s; looking it up before resending (attempt %d)",
                order.client_order_id,
                last.message,
                attempt + 1,
            )
            with contextlib.suppress(ExchangeError):
                found = await self.get_order(order.symbol, order.client_order_id)
                if found is not None:
                    return found
            await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
        assert last is not None
        raise last

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel by client order id."""
        raw = await self._rest(
            1,
            "DELETE /order",
            lambda: self.client.cancel_order(symbol=symbol, origClientOrderId=client_order_id),
        )
        self.tracked.pop(client_order_id, None)
        report = parse_order(raw)
        self._balances = None
        log_order("cancelled", self.mode, report=report)
        return report

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order by client order id; None when the exchange does not know it (-2013)."""
        try:
            raw = await self._rest(
                4,
                "GET /order",
                lambda: self.client.get_order(symbol=symbol, origClientOrderId=client_order_id),
            )
        except ExchangeError as exc:
            if exc.code == -2013:
                return None
            raise
        return parse_order(raw)

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders (of one symbol, or all)."""
        kw = {"symbol": symbol} if symbol else {}
        rows = await self._rest(
            6 if symbol else 80, "openOrders", lambda: self.client.get_open_orders(**kw)
        )
        return [parse_order(r) for r in rows]

    async def balances(self) -> dict[str, Balance]:
        """The account's balances.

        Read from the account endpoint (weight 20), then kept current by the
        user data stream's ``outboundAccountPosition`` events while the
        stream is connected; read again after an order of ours or a
        reconnect.
        """
        if self._balances is not None and self.stream_connected.is_set():
            return dict(self._balances)
        acct = await self._rest(20, "account", lambda: self.client.get_account())
        got = {
            b["asset"]: Balance(b["asset"], dec(b["free"]), dec(b["locked"]))
            for b in acct.get("balances", [])
        }
        self._balances = got
        self._balances_u = int(acct.get("updateTime") or 0)
        return dict(got)

    def _forget_balances(self) -> None:
        self._balances = None

    def _account_update(self, msg: dict[str, Any]) -> None:
        """An ``outboundAccountPosition``: the assets that changed, absolute."""
        if self._balances is None:
            return
        u = int(msg.get("u") or 0)
        if u < self._balances_u:
            return  # older than what the account endpoint said
        self._balances_u = u
        for b in msg.get("B") or ():
            asset = str(b.get("a", ""))
            if asset:
                self._balances[asset] = Balance(asset, dec(b.get("f")), dec(b.get("l")))

    async def trades_since(self, symbol: str, since_ms: int) -> list[AccountTrade]:
        """``myTrades`` from ``since_ms``."""
        rows = await self._rest(
            20,
            "myTrades",
            lambda: self.client.get_my_trades(symbol=symbol, startTime=since_ms, limit=1000),
        )
        return [parse_account_trade(r) for r in rows]
