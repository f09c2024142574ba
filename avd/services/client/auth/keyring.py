"""Encryption at rest with Fernet keys (a MultiFernet: first key encrypts).

The keys come from the environment (comma-separated, newest first) or from a
0600 file in the data folder, one key per line, created at first start.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from avd.exceptions import ConfigError
from avd.secret_files import read_or_create, write_private


class KeyRing:
    """Encrypt with the newest key, decrypt with any."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError("no Fernet key configured")
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError):
            raise ConfigError("a Fernet key is not valid (32 url-safe base64 bytes)") from None
        self._multi = MultiFernet(self._fernets)
        self.size = len(keys)

    def __repr__(self) -> str:  # never show a key
        return f"KeyRing(keys={self.size})"

    def encrypt(self, plain: str) -> str:
        """The Fernet token of ``plain`` (ASCII text)."""
        return self._multi.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext of ``token``; raises ``InvalidToken`` if no key opens it."""
        return self._multi.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the newest key."""
        return self._multi.rotate(token.encode()).decode()

    @staticmethod
    def parse(text: str) -> list[str]:
        """Keys from a comma- or newline-separated list."""
        return [k.strip() for k in text.replace(",", "\n").splitlines() if k.strip()]

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """The ring stored at ``path`` (created with one fresh key if absent)."""
        return cls(cls.parse(read_or_create(path, lambda: Fernet.generate_key().decode())))

    @staticmethod
    def save(path: Path, keys: list[str]) -> None:
        """Write ``keys`` (newest first) to ``path`` with mode 0600."""
        write_private(path, "\n".join(keys) + "\n")


__all__ = ["InvalidToken", "KeyRing"]
