"""Accounts, refresh tokens and recovery codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import RecoveryCode, RefreshToken, User
from avd.store.money import utcnow


async def get(s: AsyncSession, user_id: int) -> User | None:
    """The user with ``user_id``."""
    return await s.get(User, user_id)


async def lock(s: AsyncSession, user_id: int) -> User | None:
    """The user row, locked until the transaction ends (``FOR UPDATE`` on PostgreSQL)."""
    stmt = select(User).where(User.id == user_id).with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


async def by_email(s: AsyncSession, email: str, *, for_update: bool = False) -> User | None:
    """The user with ``email`` (already normalized to lower case)."""
    stmt = select(User).where(User.email == email)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


async def create(s: AsyncSession, email: str, password_hash: str, role: str) -> User:
    """A new account."""
    user = User(
        email=email,
        password_hash=password_hash,
        role=role,
        blocked=False,
        token_version=0,
        totp_enabled=False,
        failed_logins=0,
        created_at=utcnow(),
    )
    s.add(user)
    await s.flush()
    return user


async def page(
    s: AsyncSession, limit: int, offset: int, *, email: str | None = None
) -> Sequence[User]:
    """Accounts by id (those whose email contains ``email``, when given)."""
    stmt = select(User)
    if email:
        # emails are stored lower-case; LIKE's wildcards in the search are literal
        pattern = email.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(User.email.like(f"%{pattern}%", escape="\\"))
    stmt = stmt.order_by(User.id).limit(limit).offset(offset)
    return (await s.execute(stmt)).scalars().all()


async def add_refresh(s: AsyncSession, jti: str, user_id: int, expires_at: datetime) -> None:
    """Remember an issued refresh token."""
    s.add(RefreshToken(jti=jti, user_id=user_id, expires_at=expires_at))
    await s.flush()


async def use_refresh(s: AsyncSession, jti: str, user_id: int) -> bool:
    """Revoke a live refresh token; ``False`` if unknown, revoked or expired."""
    now = utcnow()
    result = await s.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def revoke_all_refresh(s: AsyncSession, user_id: int) -> None:
    """Revoke every refresh token of ``user_id``."""
    await s.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def replace_recovery_codes(s: AsyncSession, user_id: int, hashes: list[str]) -> None:
    """Drop the old codes and store new ones."""
    old = await s.execute(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
    for code in old.scalars():
        await s.delete(code)
    s.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)
    await s.flush()


async def use_recovery_code(s: AsyncSession, user_id: int, code_hash: str) -> bool:
    """Spend an unused recovery code; ``False`` if there is none."""
    result = await s.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)
