"""The Ed25519 keys that sign access tokens, and the JWKS publishing their public halves.

The other services verify access tokens with the public keys alone
(:class:`avd.web.tokens.TokenVerifier`), so they never hold a secret that
could mint a token. The private keys come from the environment
(comma-separated, newest first) or from a 0600 file in the data folder, one
key per line, created at first start. A key is its 32-byte seed,
base64url-encoded; its ``kid`` is its RFC 7638 thumbprint.

The newest key signs. After a rotation the previous key is kept and still
published, so the tokens it signed verify until they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from avd.exceptions import ConfigError
from avd.secret_files import read_or_create, write_private

#: the newest key and the one before it: a rotation never cuts a live token
KEPT = 2


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_seed() -> str:
    """A fresh private key (its seed, base64url)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return _b64(raw)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The JWK of a public key, with its ``kid`` (the RFC 7638 thumbprint)."""
    x = _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    # the thumbprint hashes the required members, sorted, without spaces
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


class SigningKeys:
    """Sign with the newest key; publish every key kept."""

    def __init__(self, seeds: list[str]) -> None:
        if not seeds:
            raise ConfigError("at least one access-token signing key is needed")
        self._private: list[tuple[str, Ed25519PrivateKey]] = []
        self._public: dict[str, Ed25519PublicKey] = {}
        self._jwks: list[dict[str, str]] = []
        for seed in seeds:
            try:
                raw = _unb64(seed)
                key = Ed25519PrivateKey.from_private_bytes(raw)
            except (ValueError, binascii.Error):
                raise ConfigError(
                    "an access-token signing key is not valid (32 bytes, base64url)"
                ) from None
            jwk = public_jwk(key.public_key())
            self._private.append((jwk["kid"], key))
            self._public[jwk["kid"]] = key.public_key()
            self._jwks.append(jwk)

    def __repr__(self) -> str:  # never show a key
        return f"SigningKeys(kids={list(self._public)!r})"

    @property
    def signing(self) -> tuple[str, Ed25519PrivateKey]:
        """The ``kid`` and private key that sign new tokens."""
        return self._private[0]

    def public(self, kid: str) -> Ed25519PublicKey | None:
        """The public key named ``kid``, if it is one of ours."""
        return self._public.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the public keys, newest first."""
        return {"keys": [dict(k) for k in self._jwks]}

    @staticmethod
    def parse(text: str) -> list[str]:
        """Keys from a comma- or newline-separated list."""
        return [k.strip() for k in text.replace(",", "\n").splitlines() if k.strip()]

    @classmethod
    def from_file(cls, path: Path) -> SigningKeys:
        """The keys stored at ``path`` (created with one fresh key if absent)."""
        return cls(cls.parse(read_or_create(path, new_seed)))

    @classmethod
    def rotate_file(cls, path: Path) -> SigningKeys:
        """Put a new key first in ``path``, keeping the previous one (0600)."""
        old = cls.parse(read_or_create(path, new_seed))
        seeds = [new_seed(), *old][:KEPT]
        write_private(path, "\n".join(seeds) + "\n")
        return cls(seeds)
