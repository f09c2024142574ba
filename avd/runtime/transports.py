"""The in-process transport between the services: direct calls, same answers as REST.

In the all-in-one process the trade service reaches the Client service
through a :class:`LocalClientGateway`; apart, it uses the REST adapter of
:mod:`avd.services.trade.remote`. Both implement
:class:`~avd.domain.gateways.ClientGateway` and raise the same
:mod:`avd.domain.errors` refusals for the same answer (the Client service
raises them itself: nothing to translate here).
"""

from __future__ import annotations

from avd.domain import gateways as g
from avd.domain.parameters import BotParameters
from avd.services.client.service import ClientService


class LocalClientGateway:
    """Direct calls into a :class:`ClientService` in the same process."""

    def __init__(self, service: ClientService) -> None:
        self._svc = service

    async def authenticate(self, token: str | None, role: g.Role) -> g.Principal:
        """Who ``token`` belongs to."""
        await self._svc.start()
        user = await self._svc.authenticate(token, role)
        return g.Principal(user.id, user.role)

    async def parameters(self, client_id: int) -> BotParameters:
        """A client's bot parameters."""
        await self._svc.start()
        return await self._svc.parameters(client_id)

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Every client allowed to trade, with its parameters."""
        await self._svc.start()
        return await self._svc.bots()

    async def internal_balance(self, client_id: int) -> g.InternalBalance:
        """Balance and whether the client may trade."""
        await self._svc.start()
        return await self._svc.internal_balance(client_id)

    async def check_trade(self, client_id: int) -> g.TradeAllowance:
        """Allow a new trade, or raise ``PaymentRequired`` / ``Forbidden``."""
        await self._svc.start()
        return await self._svc.check_trade(client_id)

    async def charge_fee(self, charge: g.FeeCharge) -> g.FeeCharged:
        """Charge the platform fee on a closed trade."""
        await self._svc.start()
        return await self._svc.charge_fee(charge)

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> g.ExchangeCredentials:
        """The decrypted key pair."""
        await self._svc.start()
        return await self._svc.credentials(client_id, key_id)
