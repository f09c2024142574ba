"""Per-client and global parameters, stored as validated JSON text."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from avd.store.models import ClientParameters, GlobalParameters
from avd.store.money import utcnow

GLOBAL_ID = 1


async def client(s: AsyncSession, user_id: int) -> str | None:
    """The client's parameters JSON, if ever saved."""
    row = await s.get(ClientParameters, user_id)
    return None if row is None else row.data


async def save_client(s: AsyncSession, user_id: int, data: str) -> None:
    """Replace the client's parameters."""
    row = await s.get(ClientParameters, user_id)
    if row is None:
        s.add(ClientParameters(user_id=user_id, data=data, updated_at=utcnow()))
    else:
        row.data = data
        row.updated_at = utcnow()
    await s.flush()


async def global_(s: AsyncSession, *, for_update: bool = False) -> str | None:
    """The global parameters JSON, if ever saved (its row locked with ``for_update``)."""
    row = await s.get(GlobalParameters, GLOBAL_ID, with_for_update=for_update)
    return None if row is None else row.data


async def save_global(s: AsyncSession, data: str) -> None:
    """Replace the global parameters."""
    row = await s.get(GlobalParameters, GLOBAL_ID)
    if row is None:
        s.add(GlobalParameters(id=GLOBAL_ID, data=data, updated_at=utcnow()))
    else:
        row.data = data
        row.updated_at = utcnow()
    await s.flush()
