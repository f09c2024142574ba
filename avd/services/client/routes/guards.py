"""Who may call a route: a client, an admin, any user, or another service."""

from __future__ import annotations

from starlette.requests import Request

from avd.services.client.service import ClientService
from avd.store.models import User
from avd.web.http import bearer

PATCH_DOC = (
    "A JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`): "
    "only the fields given change, objects (`stops`) are merged field by field, arrays "
    "are replaced whole, `null` clears an optional setting. The result is validated as a "
    "whole: a 422 names what is wrong and nothing is saved. Decimals are strings."
)


class Guards:
    """The bearer-token checks of the routes (the service is started on first use)."""

    def __init__(self, service: ClientService) -> None:
        self.svc = service

    async def client(self, request: Request) -> User:
        """The client account of the request's access token."""
        await self.svc.start()
        return await self.svc.authenticate(bearer(request), "client")

    async def admin(self, request: Request) -> User:
        """The admin account of the request's access token."""
        await self.svc.start()
        return await self.svc.authenticate(bearer(request), "admin")

    async def anyone(self, request: Request) -> User:
        """The account of the request's access token, whatever its role."""
        await self.svc.start()
        return await self.svc.authenticate(bearer(request), None)

    async def service_only(self, request: Request) -> None:
        """Accept only the service-to-service token."""
        await self.svc.start()
        await self.svc.authenticate_service(bearer(request))
