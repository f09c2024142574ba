"""One JSON-lines log record per order sent, cancelled or answered, whatever the venue.

Every exchange (Binance, the simulator, paper) calls :func:`log_order` where
it sends or cancels an order, so the log holds every order of every client
with its deterministic client order id (which names the client and the
trade), the venue's answer and the numbers; fills and closed trades are
logged by the trade engine where it books them. Nothing secret is in an
order: no key, signature or token is ever passed here.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from avd.exchange.exchange import OrderReport, OrderRequest

log = logging.getLogger("avd.orders")


def _s(v: Decimal | None) -> str | None:
    if v is None:
        return None
    return f"{v.normalize():f}" if v != 0 else "0"


def log_order(
    action: str,
    venue: str,
    request: OrderRequest | None = None,
    report: OrderReport | None = None,
    *,
    error: str | None = None,
) -> None:
    """Log one order event (``action``: placed, cancelled, refused, settled)."""
    cid = (
        report.client_order_id if report is not None else request.client_order_id if request else ""
    )
    symbol = report.symbol if report is not None else request.symbol if request else ""
    extra: dict[str, object] = {
        "event": "order",
        "action": action,
        "venue": venue,
        "client_order_id": cid,
        "symbol": symbol,
    }
    if request is not None:
        extra.update(
            side=request.side,
            type=request.type,
            quantity=_s(request.quantity),
            price=_s(request.price),
            stop_price=_s(request.stop_price),
        )
    if report is not None:
        extra.update(
            side=report.side or extra.get("side"),
            type=report.type or extra.get("type"),
            status=report.status,
            order_id=report.order_id,
            executed_qty=_s(report.executed_qty),
            average_price=_s(report.average_price) if report.executed_qty else None,
        )
    if error is not None:
        extra["error"] = error
    level = logging.WARNING if error is not None else logging.INFO
    log.log(level, "order %s %s %s on %s", cid, action, extra.get("status", ""), venue, extra=extra)
