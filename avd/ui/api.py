"""The services' REST APIs, as the dashboards call them on a user's behalf.

Every call carries the user's access token; a 401 on an expired token is
answered by one silent refresh (the refresh token never leaves the server)
and the call is made again. A refusal becomes :class:`ServiceError`, which
carries the service's ``error``, ``detail`` and ``numbers`` so that a page
can show them verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    from avd.ui.session import Session
    from avd.ui.settings import ServiceUrls

Service = Literal["client", "market", "trade"]

#: seconds before a call to a service is given up
TIMEOUT_S = 10.0


class ServiceError(Exception):
    """A service answered with an error (or could not be reached)."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        numbers: dict[str, Any] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(f"{error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.numbers = numbers or {}
        #: the service's ``Retry-After`` (a lockout, a rate limit), seconds
        self.retry_after_s = retry_after_s

    @property
    def message(self) -> str:
        """One line for the user: the service's detail, as it said it."""
        return self.detail or self.error


def _refusal(r: httpx.Response) -> ServiceError:
    try:
        body = r.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    retry = r.headers.get("Retry-After", "")
    return ServiceError(
        r.status_code,
        str(body.get("error", f"http_{r.status_code}")),
        str(body.get("detail", r.reason_phrase)),
        body.get("numbers") if isinstance(body.get("numbers"), dict) else None,
        int(retry) if retry.isdigit() else None,
    )


def _token_refused(r: httpx.Response) -> bool:
    """Whether ``r`` refuses the access token itself (expired, revoked), not the request.

    A wrong password or 2FA code is a 401 too, with its own ``error``
    (``invalid_password``, ``invalid_totp``): refreshing would not help.
    """
    if r.status_code != 401:
        return False
    try:
        return bool(r.json().get("error") == "unauthorized")
    except ValueError:
        return True


class Api:
    """One HTTP connection pool to the services, shared by every page."""

    def __init__(self, locate: Callable[[], ServiceUrls]) -> None:
        self.locate = locate
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """The connection pool (opened on first use, on the running loop)."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=TIMEOUT_S)
        return self._http

    async def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def anonymous(
        self,
        method: str,
        service: Service,
        path: str,
        json: Any = None,
        *,
        address: str | None = None,
    ) -> Any:
        """A call without a token (login, register, refresh), for the browser at ``address``."""
        return self._parse(await self._send(method, service, path, json=json, address=address))

    async def call(
        self,
        session: Session,
        method: str,
        service: Service,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """A call as ``session``'s user: the parsed JSON (``None`` for 204)."""
        return self._parse(await self._as(session, method, service, path, json, params))

    async def raw(self, session: Session, service: Service, path: str) -> bytes:
        """A binary resource (the 2FA QR code) as ``session``'s user."""
        r = await self._as(session, "GET", service, path)
        if r.status_code >= 400:
            raise _refusal(r)
        return r.content

    async def _as(
        self,
        session: Session,
        method: str,
        service: Service,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send as ``session``'s user; once more after a silent refresh if the token was stale."""
        token = session.access_token
        r = await self._send(
            method, service, path, json=json, params=params, token=token, address=session.address
        )
        if _token_refused(r) and session.refresh_token:
            await self.refresh(session, token)
            r = await self._send(
                method,
                service,
                path,
                json=json,
                params=params,
                token=session.access_token,
                address=session.address,
            )
        return r

    async def refresh(self, session: Session, stale: str | None) -> None:
        """Swap the session's tokens for a new pair (once, however many calls ask)."""
        async with session.refreshing:
            if session.access_token != stale:
                return  # another call refreshed while this one waited
            try:
                pair = await self.anonymous(
                    "POST",
                    "client",
                    "/auth/refresh",
                    {"refresh_token": session.refresh_token},
                    address=session.address,
                )
            except ServiceError:
                session.forget()
                raise
            session.keep(pair)

    async def _send(
        self,
        method: str,
        service: Service,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        address: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if address:
            # the browser's address, for the per-address login limits and the journal:
            # uvicorn trusts it from the UI's host (FORWARDED_ALLOW_IPS, loopback by default)
            headers["X-Forwarded-For"] = address
        url = getattr(self.locate(), service) + path
        try:
            return await self.http.request(method, url, json=json, params=params, headers=headers)
        except httpx.HTTPError as e:
            raise ServiceError(
                503, "service_unavailable", f"the {service} service cannot be reached ({e})"
            ) from e

    @staticmethod
    def _parse(r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise _refusal(r)
        if r.status_code == 204 or not r.content:
            return None
        return r.json()
