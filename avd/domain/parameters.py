"""The bot's per-client parameters and the platform's global parameters.

Both are shown whole (every field, ``null`` for an optional setting that is
off); the Client service's ``PUT`` takes them whole and its ``PATCH`` a JSON
merge patch (the request models are in :mod:`avd.services.client.schemas`).
Decimals are strings (:mod:`avd.domain.money`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from avd.domain.money import STORED, DecimalIn, NonNegativeMoney

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5,20}$")]


def _scanner_lower(value: str) -> str:
    return value.lower() if value[:8].lower() == "scanner:" else value


#: what a bot trades: a symbol, or ``scanner:N``, the market scanner's top N of
#: the signal's interval when the signal arrives (``SCANNER:N`` is taken too)
BotSymbol = Annotated[
    str,
    StringConstraints(pattern=r"^([A-Z0-9]{5,20}|[Ss][Cc][Aa][Nn][Nn][Ee][Rr]:[1-9][0-9]{0,2})$"),
    AfterValidator(_scanner_lower),
]
#: a stop or trailing distance in percent, or a multiple (of the risk R, of the ATR)
Distance = Annotated[DecimalIn, Field(gt=0, le=50, max_digits=8, decimal_places=4)]
Multiple = Annotated[DecimalIn, Field(gt=0, le=20, max_digits=8, decimal_places=4)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TakeProfitLevel(_Strict):
    """Take ``fraction`` of the position off at ``r_multiple`` times the initial risk."""

    r_multiple: Annotated[DecimalIn, Field(gt=0, le=50, max_digits=8, decimal_places=4)]
    fraction: Annotated[DecimalIn, Field(gt=0, le=1, max_digits=6, decimal_places=4)]


class StopRules(_Strict):
    """Stop and exit rules; exactly one initial stop (percent or ATR multiple)."""

    stop_loss_percent: Distance | None = Decimal("2")
    stop_loss_atr_multiple: Multiple | None = None
    #: the initial stop under the nearest support zone (the market's ``/levels``), less
    #: ``level_buffer_percent``; the percent or ATR stop when no support is known
    stop_at_support: bool = False
    #: the whole position out at the nearest resistance zone above the entry
    #: (instead of the ``take_profit`` levels) when one is known
    target_at_resistance: bool = False
    level_buffer_percent: Distance = Decimal("0.1")
    trailing_percent: Distance | None = None
    break_even_after_r: Multiple | None = None
    #: ATR (chandelier) trailing: the stop follows the peak minus k x ATR(14)
    chandelier_atr_multiple: Multiple | None = None
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
    symbols: Annotated[list[BotSymbol], Field(max_length=50)] = ["BTCUSDT"]
    risk_per_trade_percent: Annotated[
        DecimalIn, Field(gt=0, le=10, max_digits=8, decimal_places=4)
    ] = Decimal("1")
    max_open_positions: Annotated[int, Field(ge=1, le=50)] = 3
    stops: StopRules = StopRules()
    #: the strategy whose signals the bot trades: a name of the market's engine config
    #: ``strategies`` (``GET /strategies``), or its primary strategy's name; ``None``
    #: (the default) trades the primary strategy's signals
    strategy: Annotated[str | None, Field(pattern=r"^[a-z0-9_]{1,32}$")] = None

    @model_validator(mode="after")
    def _unique_symbols(self) -> Self:
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must not repeat")
        return self


class GlobalParameters(_Strict):
    """Platform-wide parameters, changed by admins."""

    fee_mode: Literal["notional", "profit"] = "notional"
    fee_percent: Annotated[DecimalIn, Field(ge=0, le=50, max_digits=10, decimal_places=6)] = (
        Decimal("0.1")
    )
    min_balance_to_trade: NonNegativeMoney = Decimal("0")
    registration_open: bool = True


P = TypeVar("P", bound=BaseModel)


def load_stored(model: type[P], raw: str) -> P:
    """Parameters stored as JSON text, whichever version wrote them.

    Rows are written with decimals as canonical strings; a row written with
    JSON numbers or exponents (``1.5``, ``"1E+1"``) by an older version or by
    hand still loads (read leniently, not migrated): the strict rule is for
    request bodies, not for what the platform stored itself.
    """
    return model.model_validate(json.loads(raw, parse_float=Decimal), context=STORED)
