"""Who is logged in: each browser's tokens, kept on the server only.

The browser holds one signed cookie naming its NiceGUI browser id; the
access and refresh tokens stay in this process's memory, keyed by that id
(never in the browser's storage, never on disk: a restart of the UI
process asks users to log in again). :func:`require` is the first line of
every protected page.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nicegui import app, context, ui

from avd.ui.state import shared

if TYPE_CHECKING:
    from avd.ui.api import Api, Service

_SESSIONS: dict[str, Session] = {}


def api() -> Api:
    """The process's API client."""
    return shared().api


def forget_all() -> None:
    """Forget every session (the UI is installed again, as in tests)."""
    _SESSIONS.clear()


@dataclass
class Session:
    """One logged-in browser: its tokens and the account they belong to."""

    browser: str
    access_token: str | None = None
    refresh_token: str | None = None
    #: ``/client/me`` at login: id, email, role, blocked, totp_enabled
    user: dict[str, Any] = field(default_factory=dict)
    since: float = field(default_factory=time.time)
    #: the browser's network address, forwarded to the services
    address: str | None = None
    #: held while the tokens are refreshed (one refresh, however many calls ask)
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def logged_in(self) -> bool:
        """Whether this browser holds tokens."""
        return self.access_token is not None

    @property
    def is_admin(self) -> bool:
        """Whether the account is an admin."""
        return self.user.get("role") == "admin"

    @property
    def client_id(self) -> int:
        """The account's id."""
        return int(self.user["id"])

    def keep(self, pair: dict[str, Any]) -> None:
        """Hold a fresh token pair."""
        self.access_token = pair["access_token"]
        self.refresh_token = pair["refresh_token"]

    def forget(self) -> None:
        """Drop the tokens and the account."""
        self.access_token = self.refresh_token = None
        self.user = {}

    async def get(self, service: Service, path: str, **params: Any) -> Any:
        """``GET`` as this user (``params`` as the query)."""
        return await api().call(self, "GET", service, path, params=params or None)

    async def post(self, service: Service, path: str, json: Any = None) -> Any:
        """``POST`` ``json`` as this user."""
        return await api().call(self, "POST", service, path, json=json)

    async def put(self, service: Service, path: str, json: Any = None) -> Any:
        """``PUT`` ``json`` as this user."""
        return await api().call(self, "PUT", service, path, json=json)

    async def patch(self, service: Service, path: str, json: Any = None) -> Any:
        """``PATCH`` ``json`` as this user."""
        return await api().call(self, "PATCH", service, path, json=json)

    async def delete(self, service: Service, path: str) -> Any:
        """``DELETE`` as this user."""
        return await api().call(self, "DELETE", service, path)


def current() -> Session:
    """The session of the browser asking (an empty one until it logs in)."""
    browser = str(app.storage.browser["id"])
    session = _SESSIONS.get(browser)
    if session is None:
        session = _SESSIONS[browser] = Session(browser)
    with contextlib.suppress(RuntimeError, AttributeError):  # outside a page's request
        peer = context.client.request.client
        if peer is not None:
            session.address = peer.host
    return session


def require(*, admin: bool = False) -> Session | None:
    """The logged-in session, or ``None`` after sending the browser to ``/login``.

    With ``admin``, a client who is not an admin gets ``None`` too (the page
    shows "admins only" itself: see :func:`avd.ui.layout.admins_only`).
    """
    session = current()
    if not session.logged_in:
        ui.navigate.to("/login")
        return None
    if admin and not session.is_admin:
        return None
    return session


async def log_in(session: Session, pair: dict[str, Any]) -> None:
    """Keep ``pair`` and read the account it belongs to.

    ``/client/me`` is a client's route; an admin's account is read from the
    admin routes, by the id its access token names (the token is not trusted
    for anything else: every service checks it again on every call).
    """
    session.keep(pair)
    claims = _claims(pair["access_token"])
    if claims.get("role") == "admin":
        session.user = await session.get("client", f"/admin/clients/{int(claims['sub'])}")
    else:
        session.user = await session.get("client", "/client/me")


def _claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (only to learn which account to read)."""
    import base64
    import json

    try:
        part = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


async def log_out(session: Session) -> None:
    """Revoke the tokens at the Client service and forget them here."""
    if session.logged_in:
        try:
            await session.post("client", "/auth/logout")
        finally:
            session.forget()
    _SESSIONS.pop(session.browser, None)
