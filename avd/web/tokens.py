"""Access tokens checked by any service: the Client service's public keys, no secret.

The Client service signs access tokens with Ed25519 (``alg`` ``EdDSA``, the
key named by ``kid`` in the header) and publishes the public keys at
``GET /.well-known/jwks.json``. :class:`TokenVerifier` lets another service
verify a token itself (signature, expiry, issuer, type, role), so its reads
keep answering while the Client service is down.

Revocation: a blocked or logged-out client's tokens stay correctly signed
until they expire, so access tokens are short-lived (15 minutes by default)
and, when it can reach the Client service, the verifier also asks it whether
the token is still good (``POST /client/internal/whoami``, the answer cached
a few seconds). When the Client service cannot be reached, the signature
alone is trusted: a revoked token then works until it expires, at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from avd.domain.errors import Forbidden, Unauthorized, Unavailable
from avd.domain.gateways import Principal
from avd.web.errors import refusal_from

log = logging.getLogger(__name__)

ISSUER = "avd"
#: the only algorithm an access token may use: pinned, never read from the token
ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
WHOAMI_PATH = "/client/internal/whoami"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "iss"]
MAX_CACHED = 10_000

_Refused = tuple[int, str, str]


def invalid(detail: str = "the token is invalid") -> Unauthorized:
    """The refusal of a token that cannot be trusted."""
    return Unauthorized("unauthorized", detail)


def token_kid(token: str) -> str:
    """The ``kid`` of an access token's header (unverified: it only picks the key)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise invalid() from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise invalid()
    return kid


def access_claims(token: str, key: Ed25519PublicKey, issuer: str = ISSUER) -> dict[str, Any]:
    """The claims of an access token signed by ``key``: signature, expiry, issuer, type.

    Raises
    ------
    Unauthorized
        ``the token has expired``, ``not an access token`` or ``the token is invalid``.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise invalid("the token has expired") from None
    except jwt.InvalidTokenError:
        raise invalid() from None
    if claims.get("typ") != "access":
        raise invalid("not an access token")
    return claims


def principal_of(claims: dict[str, Any]) -> Principal:
    """Who verified claims name."""
    try:
        return Principal(int(claims["sub"]), str(claims["role"]))
    except (KeyError, TypeError, ValueError):
        raise invalid() from None


def require_role(principal: Principal, role: str | None) -> None:
    """Refuse (403) a principal of another role than ``role`` (``None``: any)."""
    if role is not None and principal.role != role:
        raise Forbidden("forbidden", f"this route is for the {role} role")


def _jwks_keys(body: Any) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in body.get("keys", []) if isinstance(body, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue  # only the kind of key the Client service signs with
        try:
            key = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        if isinstance(key, Ed25519PublicKey) and isinstance(jwk.get("kid"), str):
            keys[jwk["kid"]] = key
    return keys


class TokenVerifier:
    """Verify the Client service's access tokens from another service.

    Parameters
    ----------
    http
        A client whose ``base_url`` is the Client service (and whose
        ``Authorization`` header carries the service token, for the revocation
        check). It is borrowed: :meth:`aclose` closes it only if
        :meth:`connect` made it.
    check_revocation
        Ask the Client service whether a token is still good when it answers.
    jwks_ttl_s
        How long the public keys are used before they are fetched again.
    refetch_after_s
        The least time between two fetches (of the keys, or after the Client
        service failed to answer a revocation check): an unknown ``kid`` or an
        unreachable service never turns every request into a fetch.
    revocation_ttl_s
        How long the Client service's answer about a token is reused.
    clock
        Monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        check_revocation: bool = True,
        issuer: str = ISSUER,
        jwks_ttl_s: float = 300.0,
        refetch_after_s: float = 10.0,
        revocation_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._owned = False
        self.check_revocation = check_revocation
        self.issuer = issuer
        self.jwks_ttl_s = jwks_ttl_s
        self.refetch_after_s = refetch_after_s
        self.revocation_ttl_s = revocation_ttl_s
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._tried_at: float | None = None  # the last fetch, whatever came of it
        self._fetching = asyncio.Lock()
        #: the Client service's answers by token id: a principal, or (status, error, detail)
        self._answers: dict[str, tuple[float, Principal | _Refused]] = {}
        self._unreachable_until = float("-inf")

    @classmethod
    def connect(
        cls,
        client_url: str,
        service_token: str | None = None,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> TokenVerifier:
        """A verifier with its own connection to the Client service at ``client_url``.

        Without ``service_token`` there is no revocation check (signature only).
        """
        headers = {"Authorization": f"Bearer {service_token}"} if service_token else {}
        http = httpx.AsyncClient(
            base_url=client_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        options.setdefault("check_revocation", service_token is not None)
        verifier = cls(http, **options)
        verifier._owned = True
        return verifier

    def __repr__(self) -> str:  # the service token stays out of reprs and logs
        return f"TokenVerifier(client={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection, if this verifier made it."""
        if self._owned:
            await self._http.aclose()

    async def verify(self, token: str | None, role: str | None) -> Principal:
        """Who ``token`` belongs to, if it is a live access token of ``role``.

        Raises
        ------
        Unauthorized
            No token, or a forged, expired or revoked one.
        Forbidden
            A token of another role, or of a blocked account.
        Unavailable
            The public keys were never fetched and the Client service cannot
            be reached.
        """
        if not token:
            raise invalid("missing bearer token")
        key = await self._key(token_kid(token))
        claims = access_claims(token, key, self.issuer)
        principal = principal_of(claims)
        require_role(principal, role)
        if not self.check_revocation:
            return principal
        return await self._still_valid(token, str(claims["jti"]), role, principal)

    # --- the public keys ----------------------------------------------------------------

    async def _key(self, kid: str) -> Ed25519PublicKey:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self.jwks_ttl_s
        if (stale or kid not in self._keys) and self._may_fetch(now):
            async with self._fetching:
                if self._may_fetch(self._clock()):  # not fetched meanwhile by another request
                    await self._fetch()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetched_at is None:
            raise Unavailable(
                "client_service_unavailable",
                "the client service's public keys cannot be fetched to verify the token",
                service="client",
            )
        raise invalid()

    def _may_fetch(self, now: float) -> bool:
        # with no key at all every token fails: try again (one fetch at a time)
        if self._fetched_at is None:
            return True
        return self._tried_at is None or now - self._tried_at >= self.refetch_after_s

    async def warm_up(self) -> bool:
        """Fetch the public keys now (at a service's start); whether it has them."""
        if self._fetched_at is None:
            async with self._fetching:
                if self._fetched_at is None:
                    await self._fetch()
        return self._fetched_at is not None

    async def _fetch(self) -> None:
        self._tried_at = self._clock()
        try:
            r = await self._http.get(JWKS_PATH)
            r.raise_for_status()
            keys = _jwks_keys(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            # keep the keys we have: tokens keep verifying while the service is down
            log.warning("the client service's public keys could not be fetched: %s", exc)
            return
        if keys:
            self._keys = keys
            self._fetched_at = self._tried_at

    # --- revocation -----------------------------------------------------------------------

    async def _still_valid(
        self, token: str, jti: str, role: str | None, principal: Principal
    ) -> Principal:
        now = self._clock()
        cached = self._answers.get(jti)
        if cached is not None and cached[0] > now:
            answer = cached[1]
        elif now < self._unreachable_until:
            return principal  # asked a moment ago and got no answer: the signature alone
        else:
            got = await self._ask(token, role or principal.role)
            if got is None:
                self._unreachable_until = now + self.refetch_after_s
                return principal
            answer = got
            self._remember(jti, now + self.revocation_ttl_s, answer)
        if isinstance(answer, Principal):
            return answer
        raise refusal_from(*answer)  # a fresh exception each time: none is raised twice

    async def _ask(self, token: str, role: str) -> Principal | _Refused | None:
        """The Client service's answer about ``token``; ``None`` if it gave none."""
        try:
            r = await self._http.post(WHOAMI_PATH, json={"token": token, "role": role})
        except httpx.HTTPError as exc:
            log.warning("revocation check skipped, the client service is unreachable: %s", exc)
            return None
        if r.status_code in (401, 403):
            try:
                err = r.json()
                error, detail = str(err["error"]), str(err["detail"])
            except (ValueError, KeyError, TypeError):
                error, detail = "unauthorized", "the token has been revoked"
            return (r.status_code, error, detail)
        if r.status_code != 200:
            log.warning("revocation check skipped: the client service answered %d", r.status_code)
            return None
        try:
            body = r.json()
            return Principal(int(body["id"]), str(body["role"]))
        except (ValueError, KeyError, TypeError):
            return None

    def _remember(self, jti: str, until: float, answer: Principal | _Refused) -> None:
        if len(self._answers) >= MAX_CACHED:
            now = self._clock()
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            if len(self._answers) >= MAX_CACHED:
                self._answers.clear()
        self._answers[jti] = (until, answer)
