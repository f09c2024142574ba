"""Request and response bodies of the TradeEngine service.

Decimals are strings both ways (:mod:`avd.domain.money`): a JSON number in a
request is a 422; a response writes money (P&L, equity, exposure, limits)
with 2 to 8 decimals and prices, quantities and percents in the plain
normalized form.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from avd.domain.money import DecimalIn, DecimalOut, MoneyOut, PositiveMoney
from avd.domain.parameters import TakeProfitLevel

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5,20}$")]
#: a quantity, quote amount or price in a request
Amount = Annotated[DecimalIn, Field(gt=0, max_digits=30, decimal_places=8)]
#: a percent or a multiple in a request (each field adds its upper bound)
Factor = Annotated[DecimalIn, Field(gt=0, max_digits=12, decimal_places=8)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExecuteRequest(_Body):
    """A trade to open: the size as a quantity, a quote amount or a risk percent."""

    symbol: Symbol
    side: Literal["BUY", "SELL"]
    type: Literal["MARKET", "LIMIT"] = "MARKET"
    quantity: Amount | None = None
    quote_amount: Amount | None = None
    risk_percent: Annotated[Factor, Field(le=100)] | None = None
    price: Amount | None = None
    stop_loss: Amount | None = None
    take_profits: Annotated[list[TakeProfitLevel] | None, Field(max_length=10)] = None
    trailing_percent: Annotated[Factor, Field(le=50)] | None = None
    break_even_after_r: Annotated[Factor, Field(le=20)] | None = None
    leverage: Annotated[Factor, Field(le=125)] = Decimal(1)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        given = [x for x in (self.quantity, self.quote_amount, self.risk_percent) if x is not None]
        if len(given) > 1:
            raise ValueError("give at most one of quantity, quote_amount and risk_percent")
        if self.type == "LIMIT" and self.price is None:
            raise ValueError("a LIMIT order needs a price")
        if self.type == "MARKET" and self.price is not None:
            raise ValueError("a MARKET order takes no price")
        return self


class AmendRequest(_Body):
    """Move the stop-loss and/or replace the take-profit targets."""

    stop_loss: Amount | None = None
    take_profits: Annotated[list[TakeProfitLevel] | None, Field(max_length=10)] = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.stop_loss is None and self.take_profits is None:
            raise ValueError("give stop_loss and/or take_profits")
        return self


class Target(BaseModel):
    """A take-profit level: ``fraction`` off at ``r_multiple`` times the initial risk."""

    r_multiple: DecimalOut
    fraction: DecimalOut
    #: entry +- r_multiple * |entry - initial stop| (null until the entry is filled)
    price: DecimalOut | None


class Trade(BaseModel):
    """A trade as the API shows it."""

    id: int
    status: str
    symbol: str
    side: str
    quantity: DecimalOut
    open_quantity: DecimalOut
    entry_price: DecimalOut | None
    stop_loss: DecimalOut
    initial_stop: DecimalOut
    #: the stop the stop tracker holds now (null when the position is not tracked)
    tracked_stop: DecimalOut | None = None
    #: the take-profit levels of the trade's plan (its own, else the bot's at entry)
    take_profits: list[Target] = []
    mode: str
    origin: str
    type: str
    exit_price: DecimalOut | None
    realized_pnl: MoneyOut
    close_reason: str | None
    note: str | None
    created_at: datetime
    closed_at: datetime | None


class TradeList(BaseModel):
    """A page of trades, newest first."""

    trades: list[Trade]
    limit: int
    offset: int


class Page(_Body):
    """Paging of ``GET /trades/history``."""

    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class SellResult(BaseModel):
    """A manual SELL: what it sold and the trades it reduced or closed (oldest first)."""

    symbol: str
    quantity: DecimalOut
    trades: list[Trade]


class AccountBalance(BaseModel):
    """One asset of the trading account, valued in the account currency."""

    asset: str
    free: DecimalOut
    locked: DecimalOut
    #: the asset's price in the account currency (null: no market for it)
    price: DecimalOut | None
    value: MoneyOut | None


class AccountPosition(BaseModel):
    """An open trade marked to market."""

    trade_id: int
    symbol: str
    quantity: DecimalOut
    entry_price: DecimalOut
    price: DecimalOut | None
    unrealized_pnl: MoneyOut | None


class Account(BaseModel):
    """The trading account: the capital that sizes and caps the trades.

    Live: the client's Binance account. Paper: its paper account. Never the
    prepaid platform balance of the Client service.
    """

    client_id: int
    mode: str
    currency: str
    equity: MoneyOut
    balances: list[AccountBalance]
    #: assets held that have no price in the currency (left out of the equity)
    unpriced: list[str]
    positions: list[AccountPosition]
    open_exposure: MoneyOut
    realized_pnl: MoneyOut
    unrealized_pnl: MoneyOut
    starting_balance: MoneyOut | None = None
    reset_at: str | None = None


class AccountQuery(_Body):
    """Which account ``GET /trades/account`` shows (default: the client's current mode)."""

    mode: Literal["paper", "live"] | None = None


class AccountReset(_Body):
    """Start the paper account again from ``balance`` (in the account currency)."""

    balance: PositiveMoney


class RiskStatus(BaseModel):
    """A client's risk state and the limits in force."""

    client_id: int
    #: the trading account the equity is read from (paper or live)
    mode: str
    equity: MoneyOut
    peak_equity: MoneyOut
    drawdown_percent: DecimalOut
    daily_pnl: MoneyOut
    daily_loss_limit: MoneyOut
    entries_paused_until: str | None
    blocked: bool
    blocked_reason: str
    kill_switch: bool
    open_positions: int
    exposure: MoneyOut
    #: the risk limits in force: percents, multiples and counts
    limits: dict[str, DecimalOut]


class UnblockRequest(_Body):
    """Lift the drawdown block of one client (or of every client)."""

    client_id: int | None = Field(None, ge=1)


class Unblocked(BaseModel):
    """Who was unblocked."""

    unblocked: list[int]


class KillSwitchRequest(_Body):
    """Turn the kill switch on (close everything, stop entries) or off."""

    active: bool = True
    reason: Annotated[str, Field(max_length=200)] = ""


class KillSwitch(BaseModel):
    """The kill switch's state and the trades it closed."""

    active: bool
    closed: list[int]


Mode = Literal["paper", "live"]


class StatsQuery(_Body):
    """Whose bot statistics ``GET /admin/trades/stats`` shows (every mode by default)."""

    client_id: int = Field(ge=1, le=2_147_483_647)
    mode: Mode | None = None


class CurvePoint(BaseModel):
    """The cumulative realized P&L after a trade closed."""

    at: datetime
    trade_id: int
    realized_pnl: MoneyOut


class TradeStats(BaseModel):
    """A client's bot statistics (admin view): exact sums over the client's trades."""

    client_id: int
    mode: Mode | None
    open_positions: list[Trade]
    closed_trades: int
    wins: int
    losses: int
    #: winning closed trades over closed trades (``null`` before the first close)
    win_rate: DecimalOut | None
    #: every trade's realized P&L, net of the exchange's commissions
    realized_pnl: MoneyOut
    #: the closed trades' cumulative realized P&L, oldest first
    equity_curve: list[CurvePoint]
