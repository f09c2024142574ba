"""The risk manager's value types: the limits, a proposed entry, the exposure held, a size.

Also what the manager remembers of a client (:class:`ClientRisk`) and how it
refuses an entry (:func:`refused`: the rule and the numbers, money to 8
decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from avd.domain.errors import InvalidRequest
from avd.trading import SymbolFilters

D0 = Decimal(0)
HUNDRED = Decimal(100)


def fmt8(v: Decimal) -> str:
    """A money amount to 8 decimals, as a plain string (``0`` for zero)."""
    q = v.quantize(Decimal("0.00000001"))
    return f"{q.normalize():f}" if q != 0 else "0"


class RiskLimits(BaseModel):
    """The platform's risk limits (per client)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_open_positions: int = Field(10, ge=1, description="cap over the client's own setting")
    max_exposure_per_symbol_percent: Decimal = Field(Decimal(100), gt=0)
    max_total_exposure_percent: Decimal = Field(Decimal(100), gt=0)
    max_leverage: Decimal = Field(Decimal(1), gt=0, description="spot: 1")
    daily_loss_limit_percent: Decimal = Field(Decimal(5), gt=0, le=100)
    max_drawdown_percent: Decimal = Field(Decimal(20), gt=0, le=100)


def refused(rule: str, detail: str, **numbers: Decimal | int | str) -> InvalidRequest:
    """A refused entry: which rule, why, and the numbers behind it (money to 8 decimals)."""
    return InvalidRequest(
        rule,
        detail,
        **{k: (fmt8(v) if isinstance(v, Decimal) else str(v)) for k, v in numbers.items()},
    )


@dataclass
class ClientRisk:
    """What the risk manager remembers of one client."""

    peak_equity: Decimal | None = None
    day: date | None = None
    day_start_equity: Decimal = D0
    day_pnl: Decimal = D0
    blocked: bool = False
    blocked_reason: str = ""
    #: the trading mode (paper or live) the peak and the day were observed in
    mode: str | None = None
    #: changed since it was last persisted (the trade engine saves it)
    dirty: bool = False


@dataclass(frozen=True)
class OpenExposure:
    """An open position's symbol and notional (quantity x entry)."""

    symbol: str
    notional: Decimal


@dataclass(frozen=True)
class EntryRequest:
    """A proposed entry."""

    client_id: int
    symbol: str
    side: str
    entry: Decimal
    stop: Decimal
    filters: SymbolFilters
    risk_percent: Decimal
    quantity: Decimal | None = None
    leverage: Decimal = Decimal(1)
    max_open_positions: int = 10
    #: the quote asset free to pay for the entry (spot: no borrowing)
    cash: Decimal | None = None


@dataclass(frozen=True)
class Sized:
    """An accepted entry: the quantity and what it risks."""

    quantity: Decimal
    notional: Decimal
    risk_amount: Decimal
    equity: Decimal
    capped_by: str | None = None
