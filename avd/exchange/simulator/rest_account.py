"""The simulator's signed endpoints: the account, orders (place, query, cancel) and trades."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from .accounts import Account
from .errors import mandatory
from .numbers import ZERO, fmt_dec
from .orders import parse_new_order
from .rest_params import symbol_param

if TYPE_CHECKING:
    from .runtime import Simulator


def account(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET account."""
    assert a is not None
    fee_m, fee_t = sim.config.maker_fee, sim.config.taker_fee
    omit = p.get("omitZeroBalances", "false").lower() == "true"
    balances = [
        {"asset": k, "free": fmt_dec(b.free), "locked": fmt_dec(b.locked)}
        for k, b in sorted(a.balances.items())
        if not (omit and b.free == ZERO and b.locked == ZERO)
    ]
    return {
        "makerCommission": int(fee_m * 10_000),
        "takerCommission": int(fee_t * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt_dec(fee_m),
            "taker": fmt_dec(fee_t),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": a.update_time,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": a.uid,
    }


def new_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST order."""
    assert a is not None
    return sim.matcher.place(a, parse_new_order(p, sim.rules))


def test_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST order/test: validate only."""
    assert a is not None
    return sim.matcher.place(a, parse_new_order(p, sim.rules), test=True)


def _order_ref(p: dict[str, str]) -> tuple[str | None, str | None]:
    oid, cid = p.get("orderId") or None, p.get("origClientOrderId") or None
    if oid is None and cid is None:
        raise mandatory("orderId")
    return oid, cid


def get_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET order."""
    assert a is not None
    sm = symbol_param(sim, p)
    return sim.matcher.get(a, sm.symbol, *_order_ref(p)).query()


def cancel_order(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """DELETE order."""
    assert a is not None
    sm = symbol_param(sim, p)
    oid, cid = _order_ref(p)
    return sim.matcher.cancel(a, sm.symbol, oid, cid, p.get("newClientOrderId") or None)


def open_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET openOrders."""
    assert a is not None
    sym = symbol_param(sim, p).symbol if p.get("symbol") else None
    return [o.query() for o in sim.matcher.open_orders(a, sym)]


def cancel_open_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """DELETE openOrders."""
    assert a is not None
    return sim.matcher.cancel_all(a, symbol_param(sim, p).symbol)


def all_orders(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET allOrders."""
    assert a is not None
    return [o.query() for o in sim.matcher.all_orders(a, symbol_param(sim, p).symbol, p)]


def my_trades(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """GET myTrades."""
    assert a is not None
    return sim.matcher.my_trades(a, symbol_param(sim, p).symbol, p)


def listen_key(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """POST userDataStream (legacy listenKey; no stream behind it)."""
    return {"listenKey": secrets.token_hex(32)}


def listen_key_keepalive(sim: Simulator, p: dict[str, str], a: Account | None) -> Any:
    """PUT / DELETE userDataStream."""
    if not p.get("listenKey"):
        raise mandatory("listenKey")
    return {}
