"""Per-key accounts: secrets and Decimal balances, free and locked."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .config import AccountConfig
from .errors import insufficient
from .numbers import ZERO


@dataclass
class Balance:
    """One asset's balance."""

    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Account:
    """One simulated account."""

    api_key: str
    secret: str
    uid: int
    balances: dict[str, Balance] = field(default_factory=dict)
    update_time: int = 0

    def balance(self, asset: str) -> Balance:
        """The asset's balance (created empty on first use)."""
        b = self.balances.get(asset)
        if b is None:
            b = self.balances[asset] = Balance()
        return b

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked, or -2010 when not enough is free."""
        b = self.balance(asset)
        if amount > b.free:
            raise insufficient()
        b.free -= amount
        b.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from locked back to free."""
        b = self.balance(asset)
        b.locked -= amount
        b.free += amount

    def require(self, asset: str, amount: Decimal) -> None:
        """-2010 unless ``amount`` of ``asset`` is free."""
        if amount > self.balance(asset).free:
            raise insufficient()


class Accounts:
    """Every account, by API key."""

    def __init__(self, configs: list[AccountConfig]) -> None:
        self.by_key: dict[str, Account] = {}
        for uid, c in enumerate(configs, start=1):
            acct = Account(c.api_key, c.secret, uid)
            for asset, amount in c.balances.items():
                acct.balance(asset.upper()).free = amount
            self.by_key[c.api_key] = acct

    def get(self, api_key: str) -> Account | None:
        """The account of ``api_key``, if any."""
        return self.by_key.get(api_key)
