"""The trade service's REST adapter to the Client service (when the services run apart).

It implements :class:`~avd.domain.gateways.ClientGateway` over httpx with the
service token, and turns the Client service's error answers back into the
same :mod:`avd.domain.errors` refusals the in-process gateway raises; a
Client service that cannot be reached is ``Unavailable`` (503) naming it.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from avd.domain import gateways as g
from avd.domain.errors import Unavailable
from avd.domain.parameters import BotParameters
from avd.web.errors import refusal_from
from avd.web.tokens import TokenVerifier

M = TypeVar("M", bound=BaseModel)


class RestClientGateway:
    """The Client service over REST, authenticated with the service token."""

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=timeout,
            transport=transport,
        )
        # tokens are verified here with the Client service's public keys (and its
        # revocation answer when it can give one), so reads go on while it is down
        self._verifier = verifier if verifier is not None else TokenVerifier(self._http)
        #: what the last call found (``GET /health`` of the trade service)
        self.reachable = True
        self.last_ok_at: float | None = None
        self.last_error = ""

    def __repr__(self) -> str:  # the token stays out of reprs and logs
        return f"RestClientGateway(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def health(self) -> dict[str, Any]:
        """Whether the Client service answered the last call, and when it last did."""
        return {
            "url": str(self._http.base_url),
            "reachable": self.reachable,
            "last_ok_at": self.last_ok_at,
            "last_error": self.last_error,
        }

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.reachable = False
            self.last_error = type(exc).__name__
            raise Unavailable(
                "client_service_unavailable",
                f"the client service is unreachable: {type(exc).__name__}",
                service="client",
            ) from None
        self.reachable, self.last_ok_at, self.last_error = True, time.time(), ""
        if r.status_code >= 400:
            numbers: dict[str, str] = {}
            try:
                err = r.json()
                error, detail = str(err.get("error", "error")), str(err.get("detail", ""))
                numbers = {str(k): str(v) for k, v in (err.get("numbers") or {}).items()}
            except (ValueError, AttributeError):
                error, detail = "error", r.text[:200]
            raise refusal_from(r.status_code, error, detail, **numbers)
        return r

    async def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        r = await self._request(method, path, **kwargs)
        return model.model_validate_json(r.content)

    async def warm_up(self) -> bool:
        """Fetch the Client service's public keys now; whether they are known."""
        return await self._verifier.warm_up()

    async def authenticate(self, token: str | None, role: g.Role) -> g.Principal:
        """Who ``token`` belongs to: verified here, offline if the Client service is down.

        See :class:`avd.web.tokens.TokenVerifier` (signature, expiry, issuer,
        role; a revocation check when the Client service answers).
        """
        return await self._verifier.verify(token, role)

    async def parameters(self, client_id: int) -> BotParameters:
        """A client's bot parameters."""
        return await self._call(
            "GET", "/client/internal/parameters", BotParameters, params={"client_id": client_id}
        )

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Every client allowed to trade, with its parameters."""
        r = await self._request("GET", "/client/internal/bots")
        return [
            (int(b["client_id"]), BotParameters.model_validate(b["parameters"]))
            for b in r.json()["bots"]
        ]

    async def internal_balance(self, client_id: int) -> g.InternalBalance:
        """Balance and whether the client may trade."""
        return await self._call(
            "GET", "/client/internal/balance", g.InternalBalance, params={"client_id": client_id}
        )

    async def check_trade(self, client_id: int) -> g.TradeAllowance:
        """Allow a new trade, or raise ``PaymentRequired`` / ``Forbidden``."""
        return await self._call(
            "POST",
            "/client/internal/trade-check",
            g.TradeAllowance,
            json={"client_id": client_id},
        )

    async def charge_fee(self, charge: g.FeeCharge) -> g.FeeCharged:
        """Charge the platform fee on a closed trade."""
        return await self._call(
            "POST", "/client/internal/fees", g.FeeCharged, json=charge.model_dump(mode="json")
        )

    async def decrypt_api_secret(
        self, client_id: int, key_id: int | None = None
    ) -> g.ExchangeCredentials:
        """The decrypted key pair."""
        return await self._call(
            "POST",
            "/client/internal/credentials",
            g.ExchangeCredentials,
            json={"client_id": client_id, "key_id": key_id},
        )
