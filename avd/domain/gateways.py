"""How the services reach one another: the gateway protocols and what crosses them.

The trade service needs the Client service (who a token belongs to, a
client's bot parameters, the prepaid balance's gate, the platform fee, the
exchange credentials). It gets a :class:`ClientGateway`: direct calls when
the services share a process (:mod:`avd.runtime.transports`), REST with the
service token when they run apart. Both raise the same
:mod:`avd.domain.errors` refusals for the same answer (402
``insufficient_balance``, 404, 503 when the service cannot be reached).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from avd.domain.money import Money, NonNegativeMoney
from avd.domain.parameters import BotParameters

MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]
Role = Literal["client", "admin"]


@dataclass(frozen=True)
class Principal:
    """Who a bearer token belongs to."""

    id: int
    role: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InternalBalance(BaseModel):
    """A client's prepaid balance and whether it may trade."""

    client_id: int
    balance: NonNegativeMoney
    can_trade: bool
    blocked: bool


class TradeAllowance(BaseModel):
    """The answer when trading is allowed (a refusal is a 402)."""

    client_id: int
    allowed: bool
    balance: NonNegativeMoney


class FeeCharge(_Body):
    """A closed trade to charge the platform fee on (idempotent per ``trade_ref``)."""

    client_id: int = Field(ge=1, le=MAX_ID)
    trade_ref: Ref
    symbol: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,20}$")]
    notional: NonNegativeMoney
    profit: Money = Decimal(0)


class FeeCharged(BaseModel):
    """The fee computed, the part actually charged, and the balance after it.

    The balance never goes below zero: a fee larger than the balance is
    charged up to the balance and the rest is reported as ``shortfall``.
    """

    client_id: int
    trade_ref: str
    fee: NonNegativeMoney
    charged: NonNegativeMoney
    shortfall: NonNegativeMoney
    balance: NonNegativeMoney
    duplicate: bool = Field(description="true if this trade was already charged")


class ExchangeCredentials(BaseModel):
    """Decrypted exchange credentials: only ever sent to the trade engine."""

    client_id: int
    key_id: int
    api_key: str
    api_secret: str


class ClientGateway(Protocol):
    """What the trade service needs from the Client service."""

    async def authenticate(self, token: str | None, role: Role) -> Principal:
        """Who ``token`` belongs to (``Unauthorized`` / ``Forbidden`` otherwise)."""
        ...

    async def parameters(self, client_id: int) -> BotParameters:
        """A client's bot parameters."""
        ...

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Every client allowed to trade, with its parameters (enabled or not)."""
        ...

    async def internal_balance(self, client_id: int) -> InternalBalance:
        """The prepaid balance and whether the client may trade."""
        ...

    async def check_trade(self, client_id: int) -> TradeAllowance:
        """Allow a new trade, or raise ``PaymentRequired`` / ``Forbidden``."""
        ...

    async def charge_fee(self, charge: FeeCharge) -> FeeCharged:
        """Charge the platform fee on a closed trade (idempotent per ``trade_ref``)."""
        ...

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> ExchangeCredentials:
        """The decrypted key pair, for signing orders only."""
        ...
