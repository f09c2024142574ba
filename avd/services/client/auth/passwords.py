"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, Field


class Argon2Settings(BaseModel):
    """argon2id cost parameters (defaults: RFC 9106's low-memory profile)."""

    model_config = {"extra": "forbid", "frozen": True}

    time_cost: int = Field(default=3, ge=1, le=20)
    memory_cost_kib: int = Field(default=65536, ge=1024, le=4 * 1024 * 1024)
    parallelism: int = Field(default=4, ge=1, le=16)


class Passwords:
    """Hash and verify passwords off the event loop."""

    def __init__(self, settings: Argon2Settings | None = None) -> None:
        s = settings or Argon2Settings()
        self._hasher = PasswordHasher(
            time_cost=s.time_cost, memory_cost=s.memory_cost_kib, parallelism=s.parallelism
        )
        # verified against when the email is unknown, so timing tells nothing
        self._dummy = self._hasher.hash("avd-dummy-password")

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (``None``: an unknown account)."""
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored)
