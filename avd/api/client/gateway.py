"""How the other services talk to the Client service: one interface, two transports.

In the all-in-one process the trade engine gets a :class:`LocalClientGateway`
(direct calls); when the services run apart it gets a
:class:`RestClientGateway` (REST over httpx with the service token). Both
raise :class:`~avd.api.errors.ApiError` with the same status and code for
the same refusal (402 ``insufficient_balance``, 404, ...).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from avd.api.client import schemas as m
from avd.api.client.service import ClientService
from avd.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


class ClientGateway(Protocol):
    """What the trade engine needs from the Client service."""

    async def internal_balance(self, client_id: int) -> m.InternalBalance:
        """Balance and whether the client may trade."""
        ...

    async def check_trade(self, client_id: int) -> m.TradeAllowance:
        """Allow a new trade, or raise ``ApiError(402)`` when the balance is exhausted."""
        ...

    async def charge_fee(self, charge: m.FeeCharge) -> m.FeeCharged:
        """Charge the platform fee on a closed trade (idempotent per ``trade_ref``)."""
        ...

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> m.ExchangeCredentials:
        """The decrypted key pair, for signing orders only."""
        ...


class LocalClientGateway:
    """Direct calls into a :class:`ClientService` in the same process."""

    def __init__(self, service: ClientService) -> None:
        self._svc = service

    async def internal_balance(self, client_id: int) -> m.InternalBalance:
        """Balance and whether the client may trade."""
        await self._svc.start()
        return await self._svc.internal_balance(client_id)

    async def check_trade(self, client_id: int) -> m.TradeAllowance:
        """Allow a new trade, or raise ``ApiError(402)``."""
        await self._svc.start()
        return await self._svc.check_trade(client_id)

    async def charge_fee(self, charge: m.FeeCharge) -> m.FeeCharged:
        """Charge the platform fee on a closed trade."""
        await self._svc.start()
        return await self._svc.charge_fee(charge)

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> m.ExchangeCredentials:
        """The decrypted key pair."""
        await self._svc.start()
        return await self._svc.credentials(client_id, key_id)


class RestClientGateway:
    """The Client service over REST, authenticated with the service token."""

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # the token stays out of reprs and logs
        return f"RestClientGateway(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        try:
            r = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(
                503, f"the client service is unreachable: {type(exc).__name__}"
            ) from None
        if r.status_code >= 400:
            try:
                err = r.json()
                raise ApiError(
                    r.status_code, str(err.get("detail", "")), error=str(err.get("error", "error"))
                )
            except ValueError:
                raise ApiError(r.status_code, r.text[:200]) from None
        return model.model_validate_json(r.content)

    async def internal_balance(self, client_id: int) -> m.InternalBalance:
        """Balance and whether the client may trade."""
        return await self._call(
            "GET", "/client/internal/balance", m.InternalBalance, params={"client_id": client_id}
        )

    async def check_trade(self, client_id: int) -> m.TradeAllowance:
        """Allow a new trade, or raise ``ApiError(402)``."""
        return await self._call(
            "POST", "/client/internal/trade-check", m.TradeAllowance, json={"client_id": client_id}
        )

    async def charge_fee(self, charge: m.FeeCharge) -> m.FeeCharged:
        """Charge the platform fee on a closed trade."""
        return await self._call(
            "POST", "/client/internal/fees", m.FeeCharged, json=charge.model_dump(mode="json")
        )

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> m.ExchangeCredentials:
        """The decrypted key pair."""
        return await self._call(
            "POST",
            "/client/internal/credentials",
            m.ExchangeCredentials,
            json={"client_id": client_id, "key_id": key_id},
        )
