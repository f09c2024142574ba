"""Exchange API keys (the ciphertexts only: encryption happens above)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import ApiKey
from avd.store.money import utcnow


async def add(
    s: AsyncSession,
    user_id: int,
    label: str,
    key_enc: str,
    secret_enc: str,
    key_last4: str,
    secret_last4: str,
) -> ApiKey:
    """Store an encrypted key pair."""
    row = ApiKey(
        user_id=user_id,
        label=label,
        key_enc=key_enc,
        secret_enc=secret_enc,
        key_last4=key_last4,
        secret_last4=secret_last4,
        created_at=utcnow(),
    )
    s.add(row)
    await s.flush()
    return row


async def of_user(s: AsyncSession, user_id: int) -> Sequence[ApiKey]:
    """A user's key pairs, oldest first."""
    stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
    return (await s.execute(stmt)).scalars().all()


async def get_owned(s: AsyncSession, user_id: int, key_id: int) -> ApiKey | None:
    """The key pair ``key_id`` if it belongs to ``user_id``."""
    stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    return (await s.execute(stmt)).scalar_one_or_none()


async def newest(s: AsyncSession, user_id: int) -> ApiKey | None:
    """The most recently stored key pair of ``user_id``."""
    stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id.desc()).limit(1)
    return (await s.execute(stmt)).scalar_one_or_none()


async def all_rows(s: AsyncSession) -> Sequence[ApiKey]:
    """Every key pair (for key rotation)."""
    return (await s.execute(select(ApiKey).order_by(ApiKey.id))).scalars().all()
