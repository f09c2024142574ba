"""The one interface the trade engine trades through, and its error.

Three implementations: :class:`~avd.exchange.binance.BinanceExchange`
(live Binance, or the local simulator: the same python-binance client) and
:class:`~avd.exchange.paper.PaperExchange` (fills simulated with the
Rust fill model; never sends an order out).

Every order carries a deterministic client order id (:func:`client_order_id`),
so after a timeout, a 5xx or a restart the order is looked up by that id
instead of being sent again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from avd.trading import SymbolFilters, filters_from_exchange_info

CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")

#: Binance's error codes, by the rule they stand for
RULES: dict[int, str] = {
    -2010: "insufficient_balance",
    -1013: "filter_failure",
    -2011: "unknown_order",
    -2013: "no_such_order",
    -1021: "timestamp_outside_recv_window",
    -1003: "rate_limited",
    -1015: "too_many_orders",
    -1121: "invalid_symbol",
    -1100: "illegal_parameter",
    -1111: "too_much_precision",
}


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A symbol as the exchange lists it in ``exchangeInfo``: its two assets and its filters.

    The base and quote assets are the exchange's ``baseAsset`` and
    ``quoteAsset``, never guessed from the symbol's name (``BTCUSDT`` could be
    split at any quote asset the exchange lists).
    """

    symbol: str
    base: str
    quote: str
    filters: SymbolFilters

    @classmethod
    def from_exchange_info(cls, info: Mapping[str, Any]) -> SymbolInfo:
        """One entry of ``exchangeInfo["symbols"]`` (python-binance's ``get_symbol_info``)."""
        return cls(
            symbol=str(info["symbol"]),
            base=str(info["baseAsset"]),
            quote=str(info["quoteAsset"]),
            filters=filters_from_exchange_info(info),
        )


def client_order_id(client_id: int, trade_id: int, leg: str, namespace: str = "") -> str:
    """The deterministic ``newClientOrderId`` of one leg of one trade.

    ``avd<namespace>-<client>-<trade>-<leg>``; legs are ``e`` (entry), ``x``
    (exit), ``s<n>`` (the n-th protective stop), ``p<n>`` (partial
    take-profit n), ``m<n>`` (the n-th manual sale of part of the position).
    The namespace is drawn once per database, so two
    databases trading one exchange account never reuse an id. The same trade
    and leg always give the same id, so a resend after a timeout or a restart
    finds the order instead of placing a second one.
    """
    cid = f"avd{namespace}-{client_id}-{trade_id}-{leg}"
    if not CLIENT_ORDER_ID.match(cid):
        raise ValueError(f"client order id {cid!r} is not valid for Binance (<= 36 chars)")
    return cid


class ExchangeError(Exception):
    """An exchange refusal or failure, with Binance's code and a clear message.

    ``status_unknown`` is true when the order may or may not have been
    executed (a timeout, a 5xx): look it up by its client order id before
    sending it again.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        rule: str | None = None,
        status_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.status_unknown = status_unknown
        if rule is None:
            if (
                code is not None
                and code in RULES
                and not (code == -2010 and "balance" not in message.lower())
            ):
                rule = RULES[code]
            elif code == -2010:
                rule = "order_rejected"
            elif status in (429, 418):
                rule = "rate_limited" if status == 429 else "ip_banned"
            elif status_unknown:
                rule = "status_unknown"
            else:
                rule = "exchange_error"
        self.rule = rule

    def __repr__(self) -> str:
        return f"ExchangeError({self.message!r}, code={self.code}, rule={self.rule!r})"


def describe_binance_error(code: int | None, status: int | None, msg: str) -> str:
    """A clear sentence for a Binance error (code, HTTP status, its message)."""
    if code == -2010:
        if "balance" in msg.lower():
            return f"insufficient balance: the exchange refused the order (-2010: {msg})"
        return f"the exchange rejected the order (-2010: {msg})"
    if code == -1013:
        return f"filter failure: the order breaks a symbol filter (-1013: {msg})"
    if code == -2011:
        return f"cancel refused: the exchange does not know this open order (-2011: {msg})"
    if code == -2013:
        return f"no such order on the exchange (-2013: {msg})"
    if code == -1021:
        return f"the request timestamp is outside the recvWindow; clock drift (-1021: {msg})"
    if status == 429:
        return f"rate limited by the exchange (429, {code}: {msg})"
    if status == 418:
        return f"the IP is banned by the exchange after ignored 429s (418, {code}: {msg})"
    if status is not None and status >= 500:
        return f"exchange error {status}: the order's status is unknown ({code}: {msg})"
    return f"exchange error ({status}, {code}: {msg})"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to place; quantities and prices are rounded by the exchange adapter."""

    symbol: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT | STOP_LOSS_LIMIT
    quantity: Decimal
    client_order_id: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    #: paper trading only: a MARKET order decided at this time (ms: a signal
    #: candle's close) fills at the first trade after it (plus the fill
    #: model's latency), as the backtester fills it; exchanges send at once
    after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OrderFill:
    """One execution of an order."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int
    ts: int = 0


@dataclass(frozen=True, slots=True)
class OrderReport:
    """An order as the exchange knows it."""

    symbol: str
    client_order_id: str
    side: str
    type: str
    status: str  # NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED
    orig_qty: Decimal
    executed_qty: Decimal
    cumulative_quote: Decimal
    order_id: int = 0
    price: Decimal = Decimal(0)
    stop_price: Decimal = Decimal(0)
    time: int = 0
    fills: tuple[OrderFill, ...] = field(default_factory=tuple)

    @property
    def average_price(self) -> Decimal:
        """The average fill price (0 when nothing filled)."""
        if self.executed_qty == 0:
            return Decimal(0)
        return self.cumulative_quote / self.executed_qty

    @property
    def is_open(self) -> bool:
        """Whether the order still works on the book."""
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def commission(self) -> Decimal:
        """Total commission over the known fills."""
        return sum((f.commission for f in self.fills), Decimal(0))


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of the account."""

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class AccountTrade:
    """One of the account's trades (``myTrades``)."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool


OrderListener = Callable[[OrderReport], Awaitable[None]]


class Exchange(Protocol):
    """What the trade engine needs from an exchange (live, simulator or paper)."""

    #: "paper", "sim" or "live"
    mode: str

    async def start(self) -> None:
        """Connect (and open the user data stream where there is one)."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...

    async def symbol_info(self, symbol: str) -> SymbolInfo:
        """The assets of ``symbol`` and its PRICE_FILTER, LOT_SIZE and NOTIONAL."""
        ...

    async def last_price(self, symbol: str) -> Decimal:
        """The latest traded price of ``symbol``."""
        ...

    async def place_order(self, order: OrderRequest) -> OrderReport:
        """Place ``order`` once (rounded to the filters); raise :class:`ExchangeError`."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an open order by its client order id."""
        ...

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order with this client order id, or None if the exchange does not know it."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Every open order (of ``symbol``)."""
        ...

    async def balances(self) -> dict[str, Balance]:
        """The account's balances by asset."""
        ...

    async def trades_since(self, symbol: str, since_ms: int) -> list[AccountTrade]:
        """The account's trades in ``symbol`` at or after ``since_ms``."""
        ...

    def on_order_update(self, listener: OrderListener) -> None:
        """Call ``listener`` with every order update (user data stream, paper fills)."""
        ...

    async def on_price(self, symbol: str, ts: int, price: Decimal) -> None:
        """The price stream hook: a new market price for ``symbol``."""
        ...
