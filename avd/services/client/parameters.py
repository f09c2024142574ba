"""Bot parameters (a client's) and global parameters (the admin's): read, PUT, PATCH."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from avd.domain.errors import Conflict
from avd.domain.parameters import BotParameters, GlobalParameters, load_stored
from avd.services.client.context import Context
from avd.store import accounts, journal, keys
from avd.store import parameters as stored
from avd.store.models import User
from avd.web.patch import merge_patch

PAGE = 500


class Parameters:
    """The parameter sets: always shown whole, replaced whole or merge-patched."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def seed_global(self) -> None:
        """Store the configured global parameters if there are none yet."""
        async with self.ctx.db.write() as s:
            if await stored.global_(s) is None:
                fees = self.ctx.settings.fees
                seed = GlobalParameters(
                    fee_mode=fees.mode,
                    fee_percent=fees.percent,
                    min_balance_to_trade=fees.min_balance_to_trade,
                    registration_open=self.ctx.settings.registration_open,
                )
                await stored.save_global(s, seed.model_dump_json())

    # --- a client's bot parameters -----------------------------------------------------

    async def parameters(self, user_id: int) -> BotParameters:
        """The client's bot parameters (defaults until saved)."""
        async with self.ctx.db.read() as s:
            raw = await stored.client(s, user_id)
        return load_stored(BotParameters, raw) if raw else BotParameters()

    async def save_parameters(self, user_id: int, params: BotParameters) -> BotParameters:
        """Replace the bot parameters; live mode needs a stored API key."""
        async with self.ctx.db.write() as s:
            await accounts.lock(s, user_id)
            await self._store_parameters(s, user_id, params, "replaced")
        await self.ctx.changed(user_id, "parameters")
        return params

    async def patch_parameters(self, user_id: int, patch: dict[str, Any]) -> BotParameters:
        """Apply a JSON merge patch to the bot parameters (RFC 7396, see avd.web.patch).

        The result is validated whole (a ``ValidationError`` names what is
        wrong, and nothing is saved). The read, the merge and the write are
        one transaction holding the account's row (``FOR UPDATE`` on
        PostgreSQL, the write lock on SQLite), so concurrent patches of one
        client apply one after the other and none is lost.
        """
        async with self.ctx.db.write() as s:
            await accounts.lock(s, user_id)
            raw = await stored.client(s, user_id)
            current = load_stored(BotParameters, raw) if raw else BotParameters()
            merged = merge_patch(current.model_dump(mode="json"), patch)
            # JSON validation, so a number in the patch is refused as in any body
            params = BotParameters.model_validate_json(json.dumps(merged))
            await self._store_parameters(s, user_id, params, "patched", sorted(patch))
        await self.ctx.changed(user_id, "parameters")
        return params

    async def _store_parameters(
        self,
        s: AsyncSession,
        user_id: int,
        params: BotParameters,
        how: str,
        fields: Sequence[str] | None = None,
    ) -> None:
        if params.mode == "live" and await keys.newest(s, user_id) is None:
            raise Conflict("conflict", "live mode needs an exchange API key: add one first")
        await stored.save_client(s, user_id, params.model_dump_json())
        await journal.record(
            s,
            "parameters_changed",
            subject_id=user_id,
            how=how,
            fields=list(fields if fields is not None else BotParameters.model_fields),
            mode=params.mode,
            enabled=params.enabled,
        )

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Every client allowed to trade (not blocked), with its bot parameters."""
        out: list[tuple[int, BotParameters]] = []
        offset = 0
        while True:
            async with self.ctx.db.read() as s:
                users = await accounts.page(s, PAGE, offset)
            for u in users:
                if u.role == "client" and not u.blocked:
                    out.append((u.id, await self.parameters(u.id)))
            if len(users) < PAGE:
                return out
            offset += PAGE

    # --- the global parameters ---------------------------------------------------------

    async def global_parameters(self) -> GlobalParameters:
        """The platform-wide parameters."""
        async with self.ctx.db.read() as s:
            raw = await stored.global_(s)
        return load_stored(GlobalParameters, raw) if raw else GlobalParameters()

    async def save_global_parameters(
        self, admin: User, params: GlobalParameters, ip: str | None
    ) -> GlobalParameters:
        """Replace the global parameters (journaled)."""
        async with self.ctx.db.write() as s:
            await self._store_global(s, admin, params, ip)
        return params

    async def patch_global_parameters(
        self, admin: User, patch: dict[str, Any], ip: str | None
    ) -> GlobalParameters:
        """Apply a JSON merge patch to the global parameters, validated whole (journaled).

        One write transaction: SQLite's write lock, on PostgreSQL the
        parameters' row locked before it is read.
        """
        async with self.ctx.db.write() as s:
            raw = await stored.global_(s, for_update=True)
            current = load_stored(GlobalParameters, raw) if raw else GlobalParameters()
            merged = merge_patch(current.model_dump(mode="json"), patch)
            params = GlobalParameters.model_validate_json(json.dumps(merged))
            await self._store_global(s, admin, params, ip)
        return params

    async def _store_global(
        self, s: AsyncSession, admin: User, params: GlobalParameters, ip: str | None
    ) -> None:
        await stored.save_global(s, params.model_dump_json())
        await journal.record(
            s,
            "global_parameters_changed",
            actor_id=admin.id,
            ip=ip,
            **json.loads(params.model_dump_json()),
        )
