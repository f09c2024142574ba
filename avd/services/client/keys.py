"""Exchange API keys: encrypted at rest, decrypted only for the signing path.

A key pair is shown by its last four characters; re-encryption moves every
stored secret under a new Fernet key.
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken
from sqlalchemy import select

from avd.domain.errors import NotFound, Unavailable
from avd.services.client import schemas as m
from avd.services.client.auth.keyring import KeyRing
from avd.services.client.context import Context
from avd.store import journal
from avd.store import keys as stored
from avd.store.models import ApiKey, User

log = logging.getLogger("avd.client")


def key_out(row: ApiKey) -> m.ApiKey:
    """The public view of a key pair (never the key itself)."""
    return m.ApiKey(
        id=row.id,
        label=row.label,
        api_key_last4=row.key_last4,
        api_secret_last4=row.secret_last4,
        created_at=row.created_at,
    )


def _no_such_key() -> NotFound:
    return NotFound("not_found", "no such API key")


class ExchangeKeys:
    """A client's Binance key pairs, Fernet-encrypted at rest."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def add(self, user_id: int, req: m.ApiKeyCreate, ip: str | None) -> m.ApiKey:
        """Encrypt and store a key pair."""
        ring = self.ctx.keyring
        async with self.ctx.db.write() as s:
            row = await stored.add(
                s,
                user_id,
                req.label,
                ring.encrypt(req.api_key),
                ring.encrypt(req.api_secret),
                req.api_key[-4:],
                req.api_secret[-4:],
            )
            await journal.record(s, "api_key_added", subject_id=user_id, ip=ip, key_id=row.id)
        log.info("api key %d added for account %d", row.id, user_id)
        return key_out(row)

    async def of_client(self, user_id: int) -> m.ApiKeys:
        """The client's key pairs (last four characters only)."""
        async with self.ctx.db.read() as s:
            rows = await stored.of_user(s, user_id)
        return m.ApiKeys(keys=[key_out(r) for r in rows])

    async def delete(self, user_id: int, key_id: int, ip: str | None) -> None:
        """Delete one of the client's key pairs (404 if it is not theirs)."""
        async with self.ctx.db.write() as s:
            row = await stored.get_owned(s, user_id, key_id)
            if row is None:
                raise _no_such_key()
            await s.delete(row)
            await journal.record(s, "api_key_deleted", subject_id=user_id, ip=ip, key_id=key_id)

    async def credentials(self, client_id: int, key_id: int | None) -> m.ExchangeCredentials:
        """Decrypt a key pair for the trade engine's signing path."""
        async with self.ctx.db.read() as s:
            row = (
                await stored.newest(s, client_id)
                if key_id is None
                else await stored.get_owned(s, client_id, key_id)
            )
        if row is None:
            raise _no_such_key()
        try:
            api_key = self.ctx.keyring.decrypt(row.key_enc)
            api_secret = self.ctx.keyring.decrypt(row.secret_enc)
        except InvalidToken:
            log.error("api key %d cannot be decrypted with the configured keys", row.id)
            raise Unavailable("unavailable", "the stored API key cannot be decrypted") from None
        return m.ExchangeCredentials(
            client_id=client_id, key_id=row.id, api_key=api_key, api_secret=api_secret
        )

    async def reencrypt(self, ring: KeyRing) -> int:
        """Re-encrypt every stored secret under ``ring``'s newest key; the count."""
        count = 0
        async with self.ctx.db.write() as s:
            for row in await stored.all_rows(s):
                row.key_enc = ring.rotate(row.key_enc)
                row.secret_enc = ring.rotate(row.secret_enc)
                count += 1
            users = (await s.execute(select(User).where(User.totp_secret.is_not(None)))).scalars()
            for u in users:
                assert u.totp_secret is not None
                u.totp_secret = ring.rotate(u.totp_secret)
                count += 1
            await journal.record(s, "keys_rotated", secrets=count)
        self.ctx.keyring = ring
        return count
