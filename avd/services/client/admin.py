"""What admins do: list clients, block, adjust balances, settle deposits, read the journal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from avd.domain.errors import Conflict, InvalidRequest, NotFound, Refusal
from avd.services.client import schemas as m
from avd.services.client.accounts import user_out
from avd.services.client.context import Context
from avd.services.client.funds import deposit_out
from avd.store import accounts, journal, ledger
from avd.store.models import JournalEntry, User
from avd.store.money import money_str


def _no_such_account() -> NotFound:
    return NotFound("not_found", "no such account")


class Admin:
    """The admin's operations; every change is journaled with the admin's id."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list_clients(self, limit: int, offset: int, email: str | None = None) -> m.ClientList:
        """Accounts with their balances (whose email contains ``email``, when given)."""
        async with self.ctx.db.read() as s:
            users = await accounts.page(s, limit, offset, email=email)
            out = [
                m.ClientSummary(**user_out(u).model_dump(), balance=await ledger.balance(s, u.id))
                for u in users
            ]
        return m.ClientList(clients=out, limit=limit, offset=offset)

    async def client(self, client_id: int) -> m.ClientDetail:
        """One account, its balance and the platform fees it paid."""
        async with self.ctx.db.read() as s:
            user = await accounts.get(s, client_id)
            if user is None:
                raise _no_such_account()
            bal = await ledger.balance(s, client_id)
            fees = -await ledger.total(s, client_id, ledger.FEE_CHARGE)
        return m.ClientDetail(**user_out(user).model_dump(), balance=bal, fees_paid=fees)

    async def set_blocked(
        self, admin: User, client_id: int, blocked: bool, reason: str | None, ip: str | None
    ) -> m.User:
        """Block (revoking every token) or unblock an account."""
        if client_id == admin.id:
            raise Conflict("conflict", "an admin cannot block their own account")
        async with self.ctx.db.write() as s:
            user = await accounts.lock(s, client_id)
            if user is None:
                raise _no_such_account()
            user.blocked = blocked
            if blocked:
                user.token_version += 1
                await accounts.revoke_all_refresh(s, user.id)
            await journal.record(
                s,
                "client_blocked" if blocked else "client_unblocked",
                actor_id=admin.id,
                subject_id=client_id,
                ip=ip,
                reason=reason,
            )
        await self.ctx.changed(client_id, "blocked" if blocked else "unblocked")
        return user_out(user)

    async def adjust(
        self, admin: User, client_id: int, req: m.Adjustment, ip: str | None
    ) -> m.LedgerEntry:
        """A manual ledger entry; refused (409) if it would make the balance negative."""
        if req.kind == "refund" and req.amount <= 0:
            raise InvalidRequest(
                "invalid_request", "a refund credits the client: the amount must be positive"
            )
        refusal: Refusal | None = None
        async with self.ctx.db.write() as s:
            user = await accounts.lock(s, client_id)
            if user is None:
                raise _no_such_account()
            bal = await ledger.balance(s, client_id)
            if bal + req.amount < 0:
                refusal = Conflict(
                    "conflict",
                    f"the adjustment would make the balance negative ({money_str(bal)} available)",
                )
            else:
                entry = await ledger.append(
                    s, client_id, req.kind, req.amount, reason=req.reason, actor_id=admin.id
                )
                await journal.record(
                    s,
                    "ledger_adjustment",
                    actor_id=admin.id,
                    subject_id=client_id,
                    ip=ip,
                    kind=req.kind,
                    amount=money_str(req.amount),
                    reason=req.reason,
                )
        if refusal is not None:
            raise refusal
        return m.LedgerEntry(
            id=entry.id,
            client_id=client_id,
            kind=entry.kind,
            amount=entry.amount,
            reason=entry.reason,
            created_at=entry.created_at,
            balance=bal + req.amount,
        )

    async def settle_deposit(
        self, admin: User, deposit_id: int, succeeded: bool, ip: str | None
    ) -> m.Deposit:
        """Settle a pending deposit."""
        async with self.ctx.db.write() as s:
            dep = await ledger.deposit_by_id(s, deposit_id)
            if dep is None:
                raise NotFound("not_found", "no such deposit")
            await accounts.lock(s, dep.user_id)
            if dep.status != "pending":
                raise Conflict("conflict", f"the deposit is already {dep.status}")
            await ledger.settle_deposit(s, dep, succeeded)
            await journal.record(
                s,
                "deposit_settled",
                actor_id=admin.id,
                subject_id=dep.user_id,
                ip=ip,
                deposit_id=dep.id,
                status=dep.status,
            )
            bal = await ledger.balance(s, dep.user_id)
        return deposit_out(dep, bal)

    async def journal(
        self,
        limit: int,
        offset: int,
        action: str | None,
        subject_id: int | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> m.Journal:
        """Audit-log entries, newest first."""
        async with self.ctx.db.read() as s:
            rows: Sequence[JournalEntry] = await journal.page(
                s,
                limit,
                offset,
                action=action,
                subject_id=subject_id,
                since=since,
                until=until,
            )
        lines = [
            m.JournalLine(
                id=r.id,
                at=r.at,
                action=r.action,
                actor_id=r.actor_id,
                subject_id=r.subject_id,
                ip=r.ip,
                detail=json.loads(r.detail),
            )
            for r in rows
        ]
        return m.Journal(entries=lines, limit=limit, offset=offset)
