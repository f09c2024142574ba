"""Request and response bodies of the Client service (pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# what crosses the gateway to the trade service is defined in the domain
from avd.domain.gateways import ExchangeCredentials as ExchangeCredentials
from avd.domain.gateways import FeeCharge as FeeCharge
from avd.domain.gateways import FeeCharged as FeeCharged
from avd.domain.gateways import InternalBalance as InternalBalance
from avd.domain.gateways import TradeAllowance as TradeAllowance
from avd.domain.money import DecimalOut, Money, NonNegativeMoney, NonZeroMoney, PositiveMoney
from avd.domain.parameters import BotParameters, GlobalParameters, StopRules
from avd.web.patch import every_field_required, patch_model

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]
ExchangeCredential = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{16,128}$")]
Role = Literal["client", "admin"]
MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database


class Body(BaseModel):
    """Request bodies refuse unknown keys."""

    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    """The one error shape of every AVD service."""

    error: str = Field(examples=["not_found"])
    detail: str


# --- auth -----------------------------------------------------------------------------


class RegisterRequest(Body):
    """A new client account."""

    email: Email
    password: Password


class LoginRequest(Body):
    """Credentials; ``totp`` (or a ``recovery_code``) once 2FA is on."""

    email: Annotated[str, StringConstraints(max_length=254)]
    password: AnyPassword
    totp: Annotated[str | None, StringConstraints(max_length=16)] = None
    recovery_code: Annotated[str | None, StringConstraints(max_length=32)] = None


class RefreshRequest(Body):
    """A refresh token to exchange (it is used up)."""

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class TokenPair(BaseModel):
    """A fresh access token and refresh token."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="lifetime of the access token, seconds")


class User(BaseModel):
    """An account as its owner (or an admin) sees it."""

    id: int
    email: str
    role: Role
    blocked: bool
    totp_enabled: bool
    created_at: datetime


class TotpEnrollment(BaseModel):
    """What an authenticator app needs; 2FA is on only after verification."""

    otpauth_uri: str
    qr_png_base64: str


class TotpCode(Body):
    """A 6-digit code from the authenticator app."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class RecoveryCodes(BaseModel):
    """One-time recovery codes, shown once."""

    recovery_codes: list[str]


class TotpDisable(Body):
    """Switching 2FA off needs the password and a current code (or a recovery code)."""

    password: AnyPassword
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]


# --- client ---------------------------------------------------------------------------


class DepositRequest(Body):
    """A prepaid deposit; the simulator decides the payment's outcome."""

    amount: PositiveMoney
    idempotency_key: Ref
    simulate: Literal["success", "failure", "pending"] = "success"


class Deposit(BaseModel):
    """A deposit and the balance after it."""

    id: int
    amount: PositiveMoney
    status: Literal["succeeded", "failed", "pending"]
    idempotency_key: str
    created_at: datetime
    balance: NonNegativeMoney


class Funds(BaseModel):
    """The prepaid balance and what it allows."""

    balance: NonNegativeMoney
    currency: Literal["USDT"] = "USDT"
    can_trade: bool
    fee_mode: Literal["notional", "profit"]
    fee_percent: DecimalOut
    min_balance_to_trade: NonNegativeMoney


class Operation(BaseModel):
    """One line of the history: a deposit, a ledger movement or a closed trade."""

    type: Literal["deposit", "fee_charge", "refund", "adjustment", "trade"]
    id: int
    at: datetime
    amount: Money
    status: str | None = None
    reason: str | None = None
    trade_ref: str | None = None
    symbol: str | None = None
    fee: Money | None = None


class History(BaseModel):
    """Operations, newest first."""

    operations: list[Operation]
    limit: int
    offset: int


class ApiKeyCreate(Body):
    """A Binance API key pair to store (encrypted)."""

    label: Label = "binance"
    api_key: ExchangeCredential
    api_secret: ExchangeCredential


class ApiKey(BaseModel):
    """A stored key pair: only the last four characters are ever shown."""

    id: int
    label: str
    api_key_last4: str
    api_secret_last4: str
    created_at: datetime


class ApiKeys(BaseModel):
    """The client's key pairs."""

    keys: list[ApiKey]


# --- service-to-service ---------------------------------------------------------------


class TradeCheck(Body):
    """Ask whether a client may open a new trade."""

    client_id: int = Field(ge=1, le=MAX_ID)


class WhoAmI(Body):
    """A user's bearer token, for another service to learn whose it is."""

    token: Annotated[str, StringConstraints(max_length=4096)]
    role: Role


class Principal(BaseModel):
    """Who a bearer token belongs to."""

    id: int
    role: Role


class Jwk(BaseModel):
    """A public key that verifies access tokens (RFC 8037: Ed25519 as an OKP key)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="the public key, base64url")
    kid: str = Field(description="its RFC 7638 thumbprint, named in each token's header")
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Registration(BaseModel):
    """Whether anyone may register (the global ``registration_open``)."""

    open: bool


class Jwks(BaseModel):
    """The JSON Web Key Set of the Client service, newest key first."""

    keys: list[Jwk]


class ClientBot(BaseModel):
    """A client allowed to trade and its bot parameters."""

    client_id: int
    parameters: BotParameters


class ClientBots(BaseModel):
    """Every client allowed to trade."""

    bots: list[ClientBot]


class SecretRequest(Body):
    """Which client's exchange credentials to decrypt (newest key pair by default)."""

    client_id: int = Field(ge=1, le=MAX_ID)
    key_id: int | None = Field(default=None, ge=1, le=MAX_ID)


# --- admin ----------------------------------------------------------------------------


class ClientSummary(User):
    """An account with its balance (admin view)."""

    balance: NonNegativeMoney


class ClientDetail(ClientSummary):
    """One account with its balance and the platform fees it paid (admin view)."""

    fees_paid: NonNegativeMoney


class ClientList(BaseModel):
    """A page of accounts."""

    clients: list[ClientSummary]
    limit: int
    offset: int


class Adjustment(Body):
    """A manual ledger movement; the reason is journaled."""

    amount: NonZeroMoney
    reason: Reason
    kind: Literal["adjustment", "refund"] = "adjustment"


class LedgerEntry(BaseModel):
    """An immutable ledger line."""

    id: int
    client_id: int
    kind: str
    amount: Money
    reason: str | None
    created_at: datetime
    balance: NonNegativeMoney


class BlockRequest(Body):
    """Why an account is (un)blocked."""

    reason: Reason | None = None


class DepositSettlement(Body):
    """The final outcome of a pending deposit."""

    outcome: Literal["success", "failure"]


class JournalLine(BaseModel):
    """An audit-log entry."""

    id: int
    at: datetime
    action: str
    actor_id: int | None
    subject_id: int | None
    ip: str | None
    detail: dict[str, object]


class Journal(BaseModel):
    """Audit-log entries, newest first."""

    entries: list[JournalLine]
    limit: int
    offset: int


class Page(Body):
    """Pagination (query string)."""

    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class ClientQuery(Page):
    """Accounts list filter (query string): ``email`` is a part of the address."""

    email: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=254)] = None


class JournalQuery(Page):
    """Journal filter (query string): ``since`` inclusive, ``until`` exclusive."""

    action: Annotated[str | None, StringConstraints(max_length=64)] = None
    subject_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class BalanceQuery(Body):
    """Whose balance (query string)."""

    client_id: int = Field(ge=1, le=MAX_ID)


# -- the parameters, in requests ------------------------------------------------------

BotParametersPut = every_field_required(BotParameters, "BotParametersPut")
StopRulesPatch = patch_model(StopRules, "StopRulesPatch")
BotParametersPatch = patch_model(BotParameters, "BotParametersPatch", {"stops": StopRulesPatch})
GlobalParametersPut = every_field_required(GlobalParameters, "GlobalParametersPut")
GlobalParametersPatch = patch_model(GlobalParameters, "GlobalParametersPatch")
