"""JWT access and refresh tokens (PyJWT).

Access tokens are signed with the Ed25519 keys of
:mod:`~avd.services.client.auth.signing` (``EdDSA``): any service verifies
them with the published public keys (:mod:`avd.web.tokens`). Refresh tokens
are signed with the Client service's own HMAC secret (``HS256``): only the
Client service ever reads them (``POST /auth/refresh``), and it also checks
each one against its stored row, so no other service needs a key for them;
a refresh token shown to another service fails there (wrong algorithm).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from avd.domain.errors import Unauthorized
from avd.services.client.auth.signing import SigningKeys
from avd.store.money import utcnow
from avd.web import tokens as shared
from avd.web.tokens import ALGORITHM as ACCESS_ALGORITHM

REFRESH_ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]


class TokenError(Unauthorized):
    """A token that is missing, malformed, tampered with, expired or of the wrong type."""

    def __init__(self, detail: str) -> None:
        super().__init__("unauthorized", detail)


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    user_id: int
    role: str
    version: int
    type: TokenType
    jti: str
    expires_at: datetime


def new_secret() -> str:
    """A fresh 256-bit signing secret (for refresh tokens)."""
    return secrets.token_urlsafe(48)


class Tokens:
    """Issue and verify tokens: access tokens with ``signing``, refresh tokens with ``secret``."""

    def __init__(
        self,
        secret: str,
        signing: SigningKeys,
        *,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        issuer: str = shared.ISSUER,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.signing = signing
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.issuer = issuer

    def __repr__(self) -> str:  # never show a key
        return f"Tokens(issuer={self.issuer!r})"

    def issue(self, user_id: int, role: str, version: int, type_: TokenType) -> Claims:
        """A new token's claims (sign them with :meth:`encode`)."""
        ttl = self.access_ttl if type_ == "access" else self.refresh_ttl
        return Claims(user_id, role, version, type_, secrets.token_hex(16), utcnow() + ttl)

    def encode(self, claims: Claims) -> str:
        """The signed JWT for ``claims``."""
        now = utcnow()
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(claims.user_id),
            "role": claims.role,
            "ver": claims.version,
            "typ": claims.type,
            "jti": claims.jti,
            "iat": int(now.timestamp()),
            "exp": claims.expires_at,
        }
        if claims.type == "access":
            kid, key = self.signing.signing
            return jwt.encode(payload, key, algorithm=ACCESS_ALGORITHM, headers={"kid": kid})
        return jwt.encode(payload, self._secret, algorithm=REFRESH_ALGORITHM)

    def decode(self, token: str, expected: TokenType) -> Claims:
        """Verify ``token`` (signature, algorithm, expiry, issuer, type); :class:`TokenError`."""
        try:
            p = self._access(token) if expected == "access" else self._refresh(token)
        except TokenError:
            raise
        except Unauthorized as exc:
            raise TokenError(exc.detail) from None
        try:
            return Claims(
                user_id=int(p["sub"]),
                role=str(p["role"]),
                version=int(p["ver"]),
                type=expected,
                jti=str(p["jti"]),
                expires_at=datetime.fromtimestamp(int(p["exp"]), tz=utcnow().tzinfo),
            )
        except (KeyError, TypeError, ValueError):
            raise TokenError("the token is invalid") from None

    def _access(self, token: str) -> dict[str, Any]:
        key = self.signing.public(shared.token_kid(token))
        if key is None:
            raise TokenError("the token is invalid")
        return shared.access_claims(token, key, self.issuer)

    def _refresh(self, token: str) -> dict[str, Any]:
        try:
            p: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[REFRESH_ALGORITHM],
                issuer=self.issuer,
                options={"require": shared.REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidTokenError:
            raise TokenError("the token is invalid") from None
        if p.get("typ") != "refresh":
            raise TokenError("wrong type")
        return p
