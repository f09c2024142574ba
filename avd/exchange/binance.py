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
* The user data stream (``user_socket()``, over the WebSocket API) is watched:
  on any error dict, and when the WebSocket API connection is lost (after
  which python-binance goes silent without resubscribing), the user socket is
  closed, a new one opened, and the tracked orders reconciled by REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from avd.exchange.exchange import (
    AccountTrade,
    Balance,
    ExchangeError,
    OrderFill,
    OrderListener,
    OrderReport,
    OrderRequest,
    SymbolInfo,
    describe_binance_error,
)
from avd.exchange.order_log import log_order
from avd.exchange.rest_limiter import RestLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")

D0 = Decimal(0)


def _d(v: Any) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else D0


def parse_order(raw: dict[str, Any]) -> OrderReport:
    """An :class:`OrderReport` from a REST order answer (ACK, RESULT, FULL or GET)."""
    fills = tuple(
        OrderFill(
            price=_d(f["price"]),
            qty=_d(f["qty"]),
            commission=_d(f.get("commission")),
            commission_asset=str(f.get("commissionAsset") or ""),
            trade_id=int(f.get("tradeId", 0)),
            ts=int(raw.get("transactTime", 0)),
        )
        for f in raw.get("fills", ())
    )
    return OrderReport(
        symbol=str(raw["symbol"]),
        client_order_id=str(raw.get("origClientOrderId") or raw.get("clientOrderId") or ""),
        side=str(raw.get("side", "")),
        type=str(raw.get("type", "")),
        status=str(raw.get("status", "NEW")),
        orig_qty=_d(raw.get("origQty")),
        executed_qty=_d(raw.get("executedQty")),
        cumulative_quote=_d(raw.get("cummulativeQuoteQty")),
        order_id=int(raw.get("orderId", 0)),
        price=_d(raw.get("price")),
        stop_price=_d(raw.get("stopPrice")),
        time=int(raw.get("transactTime") or raw.get("updateTime") or raw.get("time") or 0),
        fills=fills,
    )


def parse_execution_report(e: dict[str, Any]) -> OrderReport:
    """An :class:`OrderReport` from a user-data ``executionReport`` event."""
    fills: tuple[OrderFill, ...] = ()
    if e.get("x") == "TRADE":
        fills = (
            OrderFill(
                price=_d(e.get("L")),
                qty=_d(e.get("l")),
                commission=_d(e.get("n")),
                commission_asset=str(e.get("N") or ""),
                trade_id=int(e.get("t", -1)),
                ts=int(e.get("T", 0)),
            ),
        )
    return OrderReport(
        symbol=str(e["s"]),
        client_order_id=str(e.get("C") or e.get("c") or ""),
        side=str(e.get("S", "")),
        type=str(e.get("o", "")),
        status=str(e.get("X", "")),
        orig_qty=_d(e.get("q")),
        executed_qty=_d(e.get("z")),
        cumulative_quote=_d(e.get("Z")),
        order_id=int(e.get("i", 0)),
        price=_d(e.get("p")),
        stop_price=_d(e.get("P")),
        time=int(e.get("T", 0)),
        fills=fills,
    )


def to_exchange_error(exc: BaseException) -> ExchangeError:
    """A python-binance (or transport) exception as an :class:`ExchangeError`."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ExchangeError(
            "the exchange did not answer in time: the order's status is unknown",
            status_unknown=True,
        )
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    if isinstance(status, int):
        msg = str(getattr(exc, "message", "") or exc)
        return ExchangeError(
            describe_binance_error(code if isinstance(code, int) else None, status, msg),
            code=code if isinstance(code, int) else None,
            status=status,
            status_unknown=status >= 500,
        )
    if not isinstance(exc, OSError | ConnectionError) and "aiohttp" not in type(exc).__module__:
        raise exc
    # a dropped connection, a reset: the request may have reached the exchange
    return ExchangeError(
        f"transport failure ({type(exc).__name__}: {exc}): the order's status is unknown",
        status_unknown=True,
    )


async def shutdown_client(client: Any) -> None:
    """Close a python-binance client at once.

    Its WebSocket API read loop notices a close only at its next 10 s
    timeout; aborting the transport first makes the close immediate.
    """
    ws_api = getattr(client, "ws_api", None)
    if ws_api is not None and getattr(ws_api, "_handle_read_loop", None):
        from binance.ws.constants import WSListenerState

        ws_api.ws_state = WSListenerState.EXITING
    ws = getattr(ws_api, "ws", None)
    transport = getattr(ws, "transport", None)
    if transport is not None:
        with contextlib.suppress(Exception):
            transport.abort()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close_connection(), 12)


def fmt(v: Decimal) -> str:
    """A plain decimal string (never exponent notation)."""
    return f"{v.normalize():f}" if v != 0 else "0"


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
        self._bsm_factory = socket_manager
        self.limiter = limiter
        self.timeout = request_timeout_s
        self.max_attempts = max_attempts
        self._want_stream = user_stream and socket_manager is not None
        self._watch_s = watch_interval_s
        self.client: Any = None
        self._symbols: dict[str, SymbolInfo] = {}
        self._listeners: list[OrderListener] = []
        self._stream_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self.stream_connected = asyncio.Event()
        #: how many times the user data stream was (re)opened
        self.stream_opens = 0
        #: client order ids of the orders we watch (reconciled after a reconnect)
        self.tracked: dict[str, str] = {}
        self._reconcile_cb: Callable[[], Awaitable[None]] | None = None
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
        if self._want_stream and self._stream_task is None:
            self._stream_task = asyncio.create_task(self._user_stream(), name="user-stream")

    async def close(self) -> None:
        """Stop the user data stream and close the client."""
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stream_task
            self._stream_task = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=10)
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=3)
        for t in list(self._closing):
            t.cancel()
        if self.client is not None:
            await shutdown_client(self.client)
            self.client = None

    def on_order_update(self, listener: OrderListener) -> None:
        """Call ``listener`` with every order update of the user data stream."""
        self._listeners.append(listener)

    def on_reconnect(self, reconcile: Callable[[], Awaitable[None]]) -> None:
        """Run ``reconcile`` after the user data stream was reopened."""
        self._reconcile_cb = reconcile

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
        return _d(t["price"])

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
            b["asset"]: Balance(b["asset"], _d(b["free"]), _d(b["locked"]))
            for b in acct.get("balances", [])
        }
        self._balances = got
        self._balances_u = int(acct.get("updateTime") or 0)
        return dict(got)

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
                self._balances[asset] = Balance(asset, _d(b.get("f")), _d(b.get("l")))

    async def trades_since(self, symbol: str, since_ms: int) -> list[AccountTrade]:
        """``myTrades`` from ``since_ms``."""
        rows = await self._rest(
            20,
            "myTrades",
            lambda: self.client.get_my_trades(symbol=symbol, startTime=since_ms, limit=1000),
        )
        return [
            AccountTrade(
                symbol=r["symbol"],
                id=int(r["id"]),
                order_id=int(r["orderId"]),
                price=_d(r["price"]),
                qty=_d(r["qty"]),
                commission=_d(r.get("commission")),
                commission_asset=str(r.get("commissionAsset") or ""),
                time=int(r["time"]),
                is_buyer=bool(r.get("isBuyer")),
            )
            for r in rows
        ]

    # -- the user data stream -------------------------------------------------------

    def _ws_api_alive(self, client: Any) -> bool:
        ws_api = getattr(client, "ws_api", None)
        ws = getattr(ws_api, "ws", None)
        if ws is None:
            return True
        state = getattr(ws, "state", None)
        name = getattr(state, "name", None)
        return name in (None, "OPEN", "CONNECTING")

    def _close_later(self, sock: Any, client: Any) -> None:
        # closing a quiet python-binance socket can take 10 s: do not wait for it
        async def close() -> None:
            timer = getattr(sock, "_timer", None)
            if timer is not None:
                timer.cancel()
            # the subscription died with its connection: closing the client is enough
            await shutdown_client(client)

        t = asyncio.create_task(close())
        self._closing.add(t)
        t.add_done_callback(self._closing.discard)

    async def _dispatch(self, report: OrderReport) -> None:
        # shielded: a close never cuts a listener in the middle of a database write
        for listener in self._listeners:

            async def call(fn: OrderListener = listener) -> None:
                await fn(report)

            task: asyncio.Task[None] = asyncio.create_task(call())
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            await asyncio.shield(task)

    async def _user_stream(self) -> None:
        # The stream has its own client: after a WebSocket API reconnect
        # python-binance does not resubscribe (it goes silent), so on any error
        # the whole client is dropped and a fresh one subscribes again.
        assert self._bsm_factory is not None
        backoff = 0.2
        while True:
            sock: Any = None
            client: Any = None
            try:
                client = await self._factory()
                sock = self._bsm_factory(client).user_socket()
                await sock.__aenter__()
                self.stream_opens += 1
                self.stream_connected.set()
                backoff = 0.2
                if self.stream_opens > 1 and self._reconcile_cb is not None:
                    await self._reconcile_cb()
                while True:
                    try:
                        msg = await asyncio.wait_for(sock.recv(), self._watch_s)
                    except TimeoutError:
                        if not self._ws_api_alive(client):
                            log.warning("user data stream: WebSocket API connection lost")
                            break
                        continue
                    if not isinstance(msg, dict):
                        continue
                    if msg.get("e") == "error":
                        log.warning("user data stream error (%s): reopening", msg.get("m"))
                        break
                    if msg.get("e") == "executionReport":
                        await self._dispatch(parse_execution_report(msg))
                    elif msg.get("e") == "outboundAccountPosition":
                        self._account_update(msg)
            except asyncio.CancelledError:
                if sock is not None:
                    self._close_later(sock, client)
                raise
            except Exception as exc:
                log.warning("user data stream failed (%s); reopening", exc)
            self.stream_connected.clear()
            self._balances = None  # events may be lost while disconnected
            if sock is not None:
                self._close_later(sock, client)
            elif client is not None:
                await shutdown_client(client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
