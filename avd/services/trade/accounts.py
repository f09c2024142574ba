"""The trading account: what a client trades with, valued in the account currency.

The trading capital is the account the trades happen on, never the Client
service's prepaid balance (that one pays platform fees and gates trading):

* live: the client's Binance account (balances from the account endpoint,
  kept current by the user data stream's ``outboundAccountPosition``);
* paper: the client's paper account, which starts from a balance the client
  chooses (10,000 USDT by default), is persisted (its starting balance, and
  the fills of its trades since its last reset) and can be reset.

Its equity is every balance marked to market in the account currency: the
currency itself at 1, any other asset at the last price of ``<ASSET><CURRENCY>``.
What a base-asset commission leaves below the lot step (dust, as on Binance)
stays a balance, valued at market like any other, not a loss of the trade.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from avd.exchange.exchange import Balance

D0 = Decimal(0)

PriceOf = Callable[[str], Awaitable[Decimal | None]]


@dataclass(frozen=True)
class AssetValue:
    """One balance and its value in the account currency (``None``: no price for it)."""

    asset: str
    free: Decimal
    locked: Decimal
    price: Decimal | None
    value: Decimal | None

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked


@dataclass(frozen=True)
class Valuation:
    """Balances marked to market."""

    currency: str
    equity: Decimal
    assets: list[AssetValue] = field(default_factory=list)
    #: assets held with no market price in the currency (left out of the equity)
    unpriced: list[str] = field(default_factory=list)


async def value_balances(
    balances: dict[str, Balance], currency: str, price_of: PriceOf
) -> Valuation:
    """Mark every non-zero balance to market in ``currency`` (``price_of(symbol)``)."""
    assets: list[AssetValue] = []
    unpriced: list[str] = []
    equity = D0
    for asset in sorted(balances):
        b = balances[asset]
        total = b.free + b.locked
        if total == 0:
            continue
        price = Decimal(1) if asset == currency else await price_of(asset + currency)
        value = None if price is None else total * price
        if value is None:
            unpriced.append(asset)
        else:
            equity += value
        assets.append(AssetValue(asset, b.free, b.locked, price, value))
    return Valuation(currency, equity, assets, unpriced)


@dataclass(frozen=True)
class PositionValue:
    """An open position marked to market."""

    trade_id: int
    symbol: str
    quantity: Decimal
    entry_price: Decimal
    price: Decimal | None
    unrealized_pnl: Decimal | None


@dataclass(frozen=True)
class AccountView:
    """``GET /trades/account``: the client's trading account now."""

    client_id: int
    mode: str
    currency: str
    equity: Decimal
    balances: list[AssetValue]
    unpriced: list[str]
    positions: list[PositionValue]
    open_exposure: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    #: paper only: the balance the account started from at its last reset
    starting_balance: Decimal | None = None
    reset_at: str | None = None
