"""The journal: an append-only audit log of security-relevant actions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import JournalEntry
from avd.store.money import utcnow


async def record(
    s: AsyncSession,
    action: str,
    *,
    actor_id: int | None = None,
    subject_id: int | None = None,
    ip: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry. ``detail`` must never hold a secret."""
    s.add(
        JournalEntry(
            at=utcnow(),
            action=action,
            actor_id=actor_id,
            subject_id=subject_id,
            ip=ip,
            detail=json.dumps(detail, default=str, sort_keys=True),
        )
    )
    await s.flush()


async def page(
    s: AsyncSession,
    limit: int,
    offset: int,
    *,
    action: str | None = None,
    subject_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[JournalEntry]:
    """Entries, newest first (``since`` inclusive, ``until`` exclusive)."""
    stmt = select(JournalEntry)
    if action is not None:
        stmt = stmt.where(JournalEntry.action == action)
    if subject_id is not None:
        stmt = stmt.where(JournalEntry.subject_id == subject_id)
    if since is not None:
        stmt = stmt.where(JournalEntry.at >= since)
    if until is not None:
        stmt = stmt.where(JournalEntry.at < until)
    stmt = stmt.order_by(JournalEntry.id.desc()).limit(limit).offset(offset)
    return (await s.execute(stmt)).scalars().all()
