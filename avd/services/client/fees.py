"""The platform fee on a closed trade, and the payment simulator for deposits."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from avd.store.money import QUANTUM

FeeMode = Literal["notional", "profit"]


def compute_fee(mode: FeeMode, percent: Decimal, notional: Decimal, profit: Decimal) -> Decimal:
    """``percent`` % of the notional, or of the profit (nothing on a loss).

    Rounded half-up to 1e-8.
    """
    base = notional if mode == "notional" else max(profit, Decimal(0))
    return (base * percent / 100).quantize(QUANTUM, rounding=ROUND_HALF_UP)


Outcome = Literal["success", "failure", "pending"]
_STATUS = {"success": "succeeded", "failure": "failed", "pending": "pending"}


class PaymentSimulator:
    """Stands in for a payment provider: the request says what should happen.

    A real provider would be another class with the same ``charge`` method.
    """

    async def charge(self, amount: Decimal, simulate: Outcome) -> str:
        """The deposit's status: ``succeeded``, ``failed`` or ``pending``."""
        return _STATUS[simulate]
