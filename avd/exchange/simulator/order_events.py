"""The user-data events the matcher reports, in Binance's shape.

``executionReport`` (an order's state after a change, with the trade that
caused it) and ``outboundAccountPosition`` (the assets an order touched,
free and locked, absolute).
"""

from __future__ import annotations

from typing import Any

from .accounts import Account
from .numbers import fmt_dec
from .orders import Order, Trade


def execution_report(
    o: Order,
    x: str,
    *,
    now: int,
    exec_id: int,
    t: Trade | None = None,
    orig: str = "",
    cid: str | None = None,
) -> dict[str, Any]:
    """The ``executionReport`` of ``o`` after execution type ``x`` (and trade ``t``)."""
    return {
        "e": "executionReport",
        "E": now,
        "s": o.symbol,
        "c": cid or o.client_id,
        "S": o.side,
        "o": o.type,
        "f": o.tif,
        "q": fmt_dec(o.qty),
        "p": fmt_dec(o.price),
        "P": fmt_dec(o.stop_price),
        "F": "0.00000000",
        "g": -1,
        "C": orig,
        "x": x,
        "X": o.status,
        "r": "NONE",
        "i": o.order_id,
        "l": fmt_dec(t.qty) if t else "0.00000000",
        "z": fmt_dec(o.executed),
        "L": fmt_dec(t.price) if t else "0.00000000",
        "n": fmt_dec(t.commission) if t else "0",
        "N": t.commission_asset if t else None,
        "T": t.time if t else o.update_time,
        "t": t.id if t else -1,
        "I": exec_id,
        "w": o.working and o.is_open,
        "m": t.is_maker if t else False,
        "M": False,
        "O": o.time,
        "Z": fmt_dec(o.cum_quote),
        "Y": fmt_dec(t.quote_qty) if t else "0.00000000",
        "Q": fmt_dec(o.quote_order_qty),
        "W": o.working_time,
        "V": "NONE",
    }


def account_position(acct: Account, assets: set[str], now: int) -> dict[str, Any]:
    """The ``outboundAccountPosition`` of ``assets`` in ``acct``."""
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [
            {
                "a": a,
                "f": fmt_dec(acct.balance(a).free),
                "l": fmt_dec(acct.balance(a).locked),
            }
            for a in sorted(assets)
        ],
    }
