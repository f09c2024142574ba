"""Orders: the request parser (Binance's validation order and error codes) and the responses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import BinanceError, illegal, mandatory
from .exchange_info import SymbolRules
from .numbers import ZERO, fmt_dec, parse_decimal

TYPES = {
    "LIMIT",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
    "LIMIT_MAKER",
}
LIMIT_TYPES = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
STOP_TYPES = {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
TIF_TYPES = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
OPEN = {"NEW", "PARTIALLY_FILLED"}


@dataclass
class Trade:
    """One fill of an order (a ``myTrades`` row)."""

    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass
class Order:
    """One order of one account."""

    symbol: str
    order_id: int
    client_id: str
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal
    stop_price: Decimal
    quote_order_qty: Decimal
    time: int
    api_key: str
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    working: bool = True
    working_time: int = -1
    locked: Decimal = ZERO
    partial: Decimal | None = None
    trades: list[Trade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN

    @property
    def remaining(self) -> Decimal:
        """Quantity not filled yet."""
        return self.qty - self.executed

    def result(self) -> dict[str, Any]:
        """The RESULT fields (without ``transactTime``)."""
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": fmt_dec(self.price),
            "origQty": fmt_dec(self.qty),
            "executedQty": fmt_dec(self.executed),
            "origQuoteOrderQty": fmt_dec(self.quote_order_qty),
            "cummulativeQuoteQty": fmt_dec(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
        }
        if self.type in STOP_TYPES:
            out["stopPrice"] = fmt_dec(self.stop_price)
        out["workingTime"] = self.working_time
        out["selfTradePreventionMode"] = "NONE"
        return out

    def response(self, kind: str, transact_time: int, fills: list[Trade]) -> dict[str, Any]:
        """The POST /order answer for ``newOrderRespType`` ``kind``."""
        if kind == "ACK":
            return {
                "symbol": self.symbol,
                "orderId": self.order_id,
                "orderListId": -1,
                "clientOrderId": self.client_id,
                "transactTime": transact_time,
            }
        res = self.result()
        res = {
            **dict(list(res.items())[:4]),
            "transactTime": transact_time,
            **dict(list(res.items())[4:]),
        }
        if kind == "FULL":
            res["fills"] = [
                {
                    "price": fmt_dec(t.price),
                    "qty": fmt_dec(t.qty),
                    "commission": fmt_dec(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.id,
                }
                for t in fills
            ]
        return res

    def query(self) -> dict[str, Any]:
        """The GET /order and openOrders row."""
        res = self.result()
        res["stopPrice"] = fmt_dec(self.stop_price)
        res["icebergQty"] = "0.00000000"
        res["time"] = self.time
        res["updateTime"] = self.update_time
        res["isWorking"] = self.working
        return res


@dataclass(frozen=True)
class NewOrder:
    """A validated order request."""

    symbol: str
    side: str
    type: str
    tif: str
    qty: Decimal
    quote_order_qty: Decimal
    price: Decimal
    stop_price: Decimal
    client_id: str | None
    resp_type: str


def _dec(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = parse_decimal(raw)
    if value is None:
        raise illegal(name)
    return value


def parse_new_order(params: dict[str, str], rules: dict[str, SymbolRules]) -> NewOrder:
    """Validate a new order's parameters in Binance's order of checks."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    if symbol not in rules:
        raise BinanceError(-1121, "Invalid symbol.")
    side = params.get("side", "")
    if not side:
        raise mandatory("side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    otype = params.get("type", "")
    if not otype:
        raise mandatory("type")
    if otype not in TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    tif = params.get("timeInForce", "")
    if otype in TIF_TYPES:
        if not tif:
            raise mandatory("timeInForce")
        if tif not in ("GTC", "IOC", "FOK"):
            raise BinanceError(-1115, "Invalid timeInForce.")
    elif tif:
        raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
    qty = _dec(params, "quantity")
    qoq = _dec(params, "quoteOrderQty")
    price = _dec(params, "price")
    stop = _dec(params, "stopPrice")
    if otype == "MARKET":
        if (qty is None) == (qoq is None):
            raise mandatory("quantity")
    elif qty is None:
        raise mandatory("quantity")
    if otype in LIMIT_TYPES and price is None:
        raise mandatory("price")
    if otype in STOP_TYPES and stop is None:
        raise mandatory("stopPrice")
    cid = params.get("newClientOrderId") or None
    if cid is not None and not CLIENT_ID.match(cid):
        raise illegal("newClientOrderId")
    resp = params.get("newOrderRespType") or ("FULL" if otype in ("MARKET", "LIMIT") else "ACK")
    if resp not in ("ACK", "RESULT", "FULL"):
        raise BinanceError(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
    r = rules[symbol]
    if price is not None:
        r.check_price(price)
    if stop is not None:
        r.check_price(stop)
    if qty is not None:
        r.check_qty(qty, market=otype in ("MARKET", "STOP_LOSS", "TAKE_PROFIT"))
    if price is not None and qty is not None:
        r.check_notional(price * qty)
    return NewOrder(
        symbol,
        side,
        otype,
        tif if otype in TIF_TYPES else "GTC",
        qty if qty is not None else ZERO,
        qoq if qoq is not None else ZERO,
        price if price is not None else ZERO,
        stop if stop is not None else ZERO,
        cid,
        resp,
    )
