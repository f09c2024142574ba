"""The fill model: the one place that decides fill prices, quantities and fees.

The simulator's matcher asks a :class:`FillModel` how an order fills against
a :class:`Quote` of the replayed market; the Rust fill model of the trade
engine can implement the same two methods and replace
:class:`ReplayFillModel` without touching the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from .numbers import ZERO


@dataclass(frozen=True, slots=True)
class Quote:
    """The replayed market of one symbol at one moment."""

    symbol: str
    time: int
    last: Decimal
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    low: Decimal
    high: Decimal
    tick: Decimal


@dataclass(frozen=True, slots=True)
class FillRequest:
    """What is left of an order that may fill now.

    ``limit`` is None for a market order. ``resting`` is true for an order
    already on the book (it fills as maker at its limit when the traded range
    reaches it) and false for an arriving one (it takes the touch).
    """

    side: str
    quantity: Decimal
    limit: Decimal | None
    resting: bool


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill: price, quantity and whether the order was the maker."""

    price: Decimal
    qty: Decimal
    maker: bool


class FillModel(Protocol):
    """How orders fill against the replayed market."""

    def fill(self, request: FillRequest, quote: Quote) -> list[Fill]:
        """The fills of ``request`` now (empty when it does not trade)."""
        ...

    def fee_rate(self, maker: bool) -> Decimal:
        """The commission rate of a maker or taker fill."""
        ...


class ReplayFillModel:
    """The default model: full fills at the touch (takers) or at the limit (makers).

    Takers fill at the touch moved by ``slippage_bps`` (capped at their
    limit); resting orders fill in full at their limit once the traded range
    reaches it.
    """

    def __init__(self, maker_fee: Decimal, taker_fee: Decimal, slippage_bps: Decimal) -> None:
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.slippage = slippage_bps / Decimal(10_000)

    def fee_rate(self, maker: bool) -> Decimal:
        """The configured maker or taker commission."""
        return self.maker_fee if maker else self.taker_fee

    def fill(self, request: FillRequest, quote: Quote) -> list[Fill]:
        """Fills of ``request`` against ``quote``."""
        buy = request.side == "BUY"
        limit = request.limit
        if request.resting and limit is not None:
            reached = quote.low <= limit if buy else quote.high >= limit
            return [Fill(limit, request.quantity, True)] if reached else []
        if buy:
            px = (quote.ask * (1 + self.slippage) / quote.tick).to_integral_value(ROUND_CEILING)
            price = px * quote.tick
            if limit is not None:
                if limit < quote.ask:
                    return []
                price = min(price, limit)
        else:
            px = (quote.bid * (1 - self.slippage) / quote.tick).to_integral_value(ROUND_FLOOR)
            price = max(px * quote.tick, quote.tick)
            if limit is not None:
                if limit > quote.bid:
                    return []
                price = max(price, limit)
        if request.quantity <= ZERO:
            return []
        return [Fill(price, request.quantity, False)]
