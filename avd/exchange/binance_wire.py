"""Binance's wire format: its answers as AVD's types, its failures as :class:`ExchangeError`.

Pure functions with no client and no I/O: the REST order answers and the
user data stream's ``executionReport`` as :class:`OrderReport`, ``myTrades``
rows as :class:`AccountTrade`, a python-binance (or transport) exception as
an :class:`ExchangeError`, and decimals as the plain strings Binance accepts.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from avd.exchange.exchange import (
    AccountTrade,
    ExchangeError,
    OrderFill,
    OrderReport,
    describe_binance_error,
)

D0 = Decimal(0)


def dec(v: Any) -> Decimal:
    """A Decimal from a Binance number string (zero when absent or empty)."""
    return Decimal(str(v)) if v not in (None, "") else D0


def fmt(v: Decimal) -> str:
    """A plain decimal string (never exponent notation)."""
    return f"{v.normalize():f}" if v != 0 else "0"


def parse_order(raw: dict[str, Any]) -> OrderReport:
    """An :class:`OrderReport` from a REST order answer (ACK, RESULT, FULL or GET)."""
    fills = tuple(
        OrderFill(
            price=dec(f["price"]),
            qty=dec(f["qty"]),
            commission=dec(f.get("commission")),
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
        orig_qty=dec(raw.get("origQty")),
        executed_qty=dec(raw.get("executedQty")),
        cumulative_quote=dec(raw.get("cummulativeQuoteQty")),
        order_id=int(raw.get("orderId", 0)),
        price=dec(raw.get("price")),
        stop_price=dec(raw.get("stopPrice")),
        time=int(raw.get("transactTime") or raw.get("updateTime") or raw.get("time") or 0),
        fills=fills,
    )


def parse_execution_report(e: dict[str, Any]) -> OrderReport:
    """An :class:`OrderReport` from a user-data ``executionReport`` event."""
    fills: tuple[OrderFill, ...] = ()
    if e.get("x") == "TRADE":
        fills = (
            OrderFill(
                price=dec(e.get("L")),
                qty=dec(e.get("l")),
                commission=dec(e.get("n")),
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
        orig_qty=dec(e.get("q")),
        executed_qty=dec(e.get("z")),
        cumulative_quote=dec(e.get("Z")),
        order_id=int(e.get("i", 0)),
        price=dec(e.get("p")),
        stop_price=dec(e.get("P")),
        time=int(e.get("T", 0)),
        fills=fills,
    )


def parse_account_trade(r: dict[str, Any]) -> AccountTrade:
    """An :class:`AccountTrade` from a ``myTrades`` row."""
    return AccountTrade(
        symbol=r["symbol"],
        id=int(r["id"]),
        order_id=int(r["orderId"]),
        price=dec(r["price"]),
        qty=dec(r["qty"]),
        commission=dec(r.get("commission")),
        commission_asset=str(r.get("commissionAsset") or ""),
        time=int(r["time"]),
        is_buyer=bool(r.get("isBuyer")),
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
