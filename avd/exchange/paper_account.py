"""The paper account: balances (free and locked, in ``Decimal``) and the trades booked.

Funds are checked before an order is accepted, limit-priced orders lock what
they may spend, and each fill moves the balances: the notional one way, the
quantity the other, and the commission out of the asset received (base on a
BUY, quote on a SELL), as on Binance.
"""

from __future__ import annotations

from decimal import Decimal

from avd.exchange.exchange import AccountTrade, Balance, ExchangeError, OrderFill, OrderReport
from avd.trading import Fill

D0 = Decimal(0)


def commission_asset(base: str, quote: str, fill: Fill) -> str:
    """The asset a fill's commission is taken in, by name (``BTC``, ``USDT``, ``BNB``)."""
    # the fill model says BASE / QUOTE (or BNB); Binance names the asset
    return {"BASE": base, "QUOTE": quote}.get(fill.commission_asset, fill.commission_asset)


class PaperAccount:
    """The balances of one paper account and the trades booked on it.

    Parameters
    ----------
    balances
        The free balance of each asset to start with.
    """

    def __init__(self, balances: dict[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {}
        self.trades: list[AccountTrade] = []

    def check_funds(self, base: str, quote: str, side: str, qty: Decimal, price: Decimal) -> None:
        """Refuse (-2010) an order the free balance cannot pay for.

        Raises
        ------
        ExchangeError
            When a BUY needs more quote, or a SELL more base, than is free.
        """
        if side == "BUY":
            need, asset = qty * price, quote
        else:
            need, asset = qty, base
        have = self.free.get(asset, D0)
        if need > have:
            raise ExchangeError(
                "Account has insufficient balance for requested action. "
                f"(needs {need.normalize():f} {asset}, has {have.normalize():f})",
                code=-2010,
            )

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` of ``asset`` from free to locked (a resting order's funds)."""
        self.free[asset] = self.free.get(asset, D0) - amount
        self.locked[asset] = self.locked.get(asset, D0) + amount

    def release(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` of ``asset`` from locked back to free."""
        self.locked[asset] = self.locked.get(asset, D0) - amount
        self.free[asset] = self.free.get(asset, D0) + amount

    def book(
        self,
        base: str,
        quote: str,
        side: str,
        price: Decimal,
        qty: Decimal,
        commission: Decimal,
        commission_asset: str,
        *,
        locked: Decimal = D0,
    ) -> None:
        """Move the balances for one fill, spending what was ``locked`` for it first."""
        notional = price * qty
        if side == "BUY":
            self._take(quote, notional, locked)
            self.free[base] = self.free.get(base, D0) + qty
        else:
            self._take(base, qty, locked)
            self.free[quote] = self.free.get(quote, D0) + notional
        self.free[commission_asset] = self.free.get(commission_asset, D0) - commission

    def book_fill(self, base: str, quote: str, side: str, fill: Fill, *, locked: Decimal) -> None:
        """:meth:`book` one fill of the fill model."""
        self.book(
            base,
            quote,
            side,
            fill.price,
            fill.qty,
            fill.commission,
            commission_asset(base, quote, fill),
            locked=locked,
        )

    def _take(self, asset: str, amount: Decimal, locked: Decimal) -> None:
        from_locked = min(amount, locked)
        if from_locked:
            self.locked[asset] = self.locked.get(asset, D0) - from_locked
        self.free[asset] = self.free.get(asset, D0) - (amount - from_locked)

    def record(self, report: OrderReport, fills: tuple[OrderFill, ...]) -> None:
        """Keep ``fills`` of the order ``report`` as account trades (``myTrades``)."""
        for f in fills:
            self.trades.append(
                AccountTrade(
                    symbol=report.symbol,
                    id=f.trade_id,
                    order_id=report.order_id,
                    price=f.price,
                    qty=f.qty,
                    commission=f.commission,
                    commission_asset=f.commission_asset,
                    time=f.ts,
                    is_buyer=report.side == "BUY",
                )
            )

    def trades_since(self, symbol: str, since_ms: int) -> list[AccountTrade]:
        """The trades of ``symbol`` at or after ``since_ms``."""
        return [t for t in self.trades if t.symbol == symbol and t.time >= since_ms]

    def balances(self) -> dict[str, Balance]:
        """Every asset's balance, by name."""
        assets = set(self.free) | set(self.locked)
        return {a: Balance(a, self.free.get(a, D0), self.locked.get(a, D0)) for a in sorted(assets)}
