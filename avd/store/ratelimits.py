"""Sliding-window rate limits shared by every process on the database.

Each key (``login:<address>``) has one row holding the times of its recent
hits. A hit locks that row for the rest of its transaction (``FOR UPDATE``
on PostgreSQL; SQLite's write lock), so hits from several processes are
counted one after the other and none is lost.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import RateLimitWindow

#: a row deleted by a concurrent prune between our insert and our lock: try again
_ATTEMPTS = 3
_PRUNE_BATCH = 1000


async def _locked_row(s: AsyncSession, key: str, expires_at: float) -> RateLimitWindow:
    dialect = (await s.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    lock = select(RateLimitWindow).where(RateLimitWindow.key == key).with_for_update()
    for _ in range(_ATTEMPTS):
        # create the row if absent without failing when another process just did
        await s.execute(
            insert(RateLimitWindow)
            .values(key=key, hits="[]", expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = (await s.execute(lock.execution_options(populate_existing=True))).scalar_one_or_none()
        if row is not None:
            return row
    raise RuntimeError(f"the rate-limit row {key!r} keeps disappearing")


async def hit(s: AsyncSession, key: str, limit: int, window: float, now: float) -> float | None:
    """Record a hit on ``key``; the seconds to wait if ``limit`` hits are in the window.

    A refused hit is not recorded, so a client that waits as told gets in.
    """
    row = await _locked_row(s, key, now + window)
    hits: list[float] = [t for t in json.loads(row.hits) if t > now - window]
    if len(hits) >= limit:
        row.hits = json.dumps(hits)
        # clamped: processes' clocks may differ a little, a wait never exceeds the window
        return min(max(hits[0] + window - now, 0.0), window)
    hits.append(now)
    row.hits = json.dumps(hits)
    row.expires_at = now + window
    await s.flush()
    return None


async def prune(s: AsyncSession, now: float) -> None:
    """Delete rows whose window has passed (skipping rows another process holds)."""
    stale = (
        select(RateLimitWindow.key)
        .where(RateLimitWindow.expires_at < now)
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    await s.execute(delete(RateLimitWindow).where(RateLimitWindow.key.in_(stale)))
