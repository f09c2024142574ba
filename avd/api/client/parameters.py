"""The bot's per-client parameters and the platform's global parameters."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from avd.api.money import NonNegativeMoney

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5,20}$")]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=12, decimal_places=6)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TakeProfitLevel(_Strict):
    """Take ``fraction`` of the position off at ``r_multiple`` times the initial risk."""

    r_multiple: Annotated[Decimal, Field(gt=0, le=50, max_digits=8, decimal_places=4)]
    fraction: Annotated[Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4)]


class StopRules(_Strict):
    """Stop and exit rules; exactly one initial stop (percent or ATR multiple)."""

    stop_loss_percent: Annotated[
        Decimal | None, Field(gt=0, le=50, max_digits=8, decimal_places=4)
    ] = Decimal("2")
    stop_loss_atr_multiple: Annotated[
        Decimal | None, Field(gt=0, le=20, max_digits=8, decimal_places=4)
    ] = None
    trailing_percent: Annotated[
        Decimal | None, Field(gt=0, le=50, max_digits=8, decimal_places=4)
    ] = None
    break_even_after_r: Annotated[
        Decimal | None, Field(gt=0, le=20, max_digits=8, decimal_places=4)
    ] = None
    #: ATR (chandelier) trailing: the stop follows the peak minus k x ATR(14)
    chandelier_atr_multiple: Annotated[
        Decimal | None, Field(gt=0, le=20, max_digits=8, decimal_places=4)
    ] = None
    #: close the position after this many minutes whatever the price
    time_stop_minutes: Annotated[int | None, Field(ge=1, le=43_200)] = None
    take_profit: Annotated[list[TakeProfitLevel], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (self.stop_loss_percent is None) == (self.stop_loss_atr_multiple is None):
            raise ValueError("give exactly one of stop_loss_percent and stop_loss_atr_multiple")
        rs = [t.r_multiple for t in self.take_profit]
        if rs != sorted(set(rs)):
            raise ValueError("take-profit r_multiple values must be strictly increasing")
        if sum((t.fraction for t in self.take_profit), Decimal(0)) > 1:
            raise ValueError("take-profit fractions add up to more than 1")
        return self


class BotParameters(_Strict):
    """The trade engine's per-client settings."""

    enabled: bool = False
    mode: Literal["paper", "live"] = "paper"
    symbols: Annotated[list[Symbol], Field(max_length=50)] = ["BTCUSDT"]
    risk_per_trade_percent: Annotated[
        Decimal, Field(gt=0, le=10, max_digits=8, decimal_places=4)
    ] = Decimal("1")
    max_open_positions: Annotated[int, Field(ge=1, le=50)] = 3
    stops: StopRules = StopRules()

    @model_validator(mode="after")
    def _unique_symbols(self) -> Self:
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must not repeat")
        return self


class GlobalParameters(_Strict):
    """Platform-wide parameters, changed by admins."""

    fee_mode: Literal["notional", "profit"] = "notional"
    fee_percent: Annotated[Decimal, Field(ge=0, le=50, max_digits=10, decimal_places=6)] = Decimal(
        "0.1"
    )
    min_balance_to_trade: NonNegativeMoney = Decimal("0")
    registration_open: bool = True
