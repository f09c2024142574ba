"""What the trade engine keeps of its trades in memory, beside the database.

* :class:`Positions`: every open or pending trade's exposure (what the risk
  status and the bots' one-position-per-symbol rule read without a database
  round trip), why a position is being closed, and the paper exits of
  signals waiting for the next trade;
* :class:`OrderIds`: the database's namespace, part of every client order id.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from avd.exchange.exchange import client_order_id
from avd.services.trade.risk_types import OpenExposure


@dataclass
class Held:
    """An open (or pending) trade's client, symbol and notional."""

    client_id: int
    symbol: str
    notional: Decimal


class Positions:
    """The open and pending trades of every client, in memory."""

    def __init__(self) -> None:
        self.held: dict[int, Held] = {}
        #: why a position is being closed (manual, kill switch, signal), by trade id
        self.close_reason: dict[int, str] = {}
        #: paper exits of signals waiting for the next trade: trade id -> client order id
        self.exit_orders: dict[int, str] = {}

    def hold(self, trade_id: int, client_id: int, symbol: str, notional: Decimal) -> None:
        """A trade is pending or open with this notional."""
        self.held[trade_id] = Held(client_id, symbol, notional)

    def release(self, trade_id: int) -> None:
        """A trade is no longer pending or open."""
        self.held.pop(trade_id, None)

    def exposure(self, client_id: int) -> list[OpenExposure]:
        """The client's open (and pending) positions as exposure."""
        return [
            OpenExposure(h.symbol, h.notional)
            for h in self.held.values()
            if h.client_id == client_id
        ]

    def in_symbol(self, client_id: int, symbol: str) -> list[int]:
        """The client's open or pending trades in ``symbol``."""
        return [
            trade_id
            for trade_id, h in self.held.items()
            if h.client_id == client_id and h.symbol == symbol
        ]


class OrderIds:
    """Client order ids of this database (its namespace is drawn once, at the first start)."""

    def __init__(self) -> None:
        self.namespace = ""

    def oid(self, client_id: int, trade_id: int, leg: str) -> str:
        """The client order id of one leg of one trade (see :func:`client_order_id`)."""
        return client_order_id(client_id, trade_id, leg, self.namespace)

    def fee_ref(self, trade_id: int) -> str:
        """The reference the platform fee of a trade is charged under (once per trade)."""
        return f"trade{self.namespace}-{trade_id}"
