"""JWT access and refresh tokens (HS256, PyJWT)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from avd.store.money import utcnow

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]


class TokenError(Exception):
    """A token that is missing, malformed, tampered with, expired or of the wrong type."""


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
    """A fresh 256-bit signing secret."""
    return secrets.token_urlsafe(48)


class Tokens:
    """Issue and verify tokens signed with one secret."""

    def __init__(
        self, secret: str, *, access_ttl: timedelta, refresh_ttl: timedelta, issuer: str = "avd"
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.issuer = issuer

    def __repr__(self) -> str:  # never show the secret
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
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, expected: TokenType) -> Claims:
        """Verify ``token`` (signature, algorithm, expiry, issuer, type)."""
        try:
            p = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidTokenError:
            raise TokenError("the token is invalid") from None
        if p.get("typ") != expected:
            raise TokenError(f"not an {expected} token" if expected == "access" else "wrong type")
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
