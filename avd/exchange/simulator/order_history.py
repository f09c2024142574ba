"""An account's past orders and trades as ``GET /allOrders`` and ``GET /myTrades`` list them.

Binance's paging: with ``orderId``/``fromId`` or ``startTime`` the oldest
``limit`` rows from there, otherwise the newest ``limit`` (500 by default,
1000 at most).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .numbers import fmt_dec
from .orders import Order


def all_orders(
    orders: Iterable[Order], api_key: str, symbol: str, params: dict[str, str]
) -> list[Order]:
    """The orders of ``api_key`` on ``symbol`` that ``GET /allOrders`` lists."""
    rows = [o for o in orders if o.api_key == api_key and o.symbol == symbol]
    if params.get("orderId"):
        rows = [o for o in rows if o.order_id >= int(params["orderId"])]
    if params.get("startTime"):
        rows = [o for o in rows if o.time >= int(params["startTime"])]
    if params.get("endTime"):
        rows = [o for o in rows if o.time <= int(params["endTime"])]
    limit = min(int(params.get("limit") or 500), 1000)
    return rows[:limit] if params.get("orderId") or params.get("startTime") else rows[-limit:]


def my_trades(
    orders: Iterable[Order], api_key: str, symbol: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    """The ``GET /myTrades`` rows of ``api_key`` on ``symbol``."""
    rows = [(o, t) for o in orders if o.api_key == api_key and o.symbol == symbol for t in o.trades]
    rows.sort(key=lambda x: x[1].id)
    if params.get("orderId"):
        rows = [x for x in rows if x[0].order_id == int(params["orderId"])]
    if params.get("fromId"):
        rows = [x for x in rows if x[1].id >= int(params["fromId"])]
    if params.get("startTime"):
        rows = [x for x in rows if x[1].time >= int(params["startTime"])]
    if params.get("endTime"):
        rows = [x for x in rows if x[1].time <= int(params["endTime"])]
    limit = min(int(params.get("limit") or 500), 1000)
    rows = rows[:limit] if params.get("fromId") or params.get("startTime") else rows[-limit:]
    return [
        {
            "symbol": symbol,
            "id": t.id,
            "orderId": o.order_id,
            "orderListId": -1,
            "price": fmt_dec(t.price),
            "qty": fmt_dec(t.qty),
            "quoteQty": fmt_dec(t.quote_qty),
            "commission": fmt_dec(t.commission),
            "commissionAsset": t.commission_asset,
            "time": t.time,
            "isBuyer": t.is_buyer,
            "isMaker": t.is_maker,
            "isBestMatch": True,
        }
        for o, t in rows
    ]
