"""Two-factor authentication: enrolment, its QR code, switching on and off, recovery codes.

Logging in with the second factor is part of :mod:`avd.services.client.accounts`.
"""

from __future__ import annotations

import base64

from avd.domain.errors import Conflict, InvalidRequest, NotFound, Refusal, Unauthorized
from avd.services.client import schemas as m
from avd.services.client.auth import totp
from avd.services.client.context import Context
from avd.store import accounts, journal
from avd.store.models import User


def _already_on() -> Conflict:
    return Conflict("conflict", "two-factor authentication is already on")


def _not_on() -> Conflict:
    return Conflict("conflict", "two-factor authentication is not on")


def _no_match() -> InvalidRequest:
    return InvalidRequest("invalid_totp", "the code does not match")


class TwoFactor:
    """TOTP enrolment and recovery codes of an account."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def enroll(self, user: User, ip: str | None) -> m.TotpEnrollment:
        """Start (or restart) enrolment: a new secret, not yet active."""
        if user.totp_enabled:
            raise _already_on()
        secret = totp.new_secret()
        async with self.ctx.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.totp_secret = self.ctx.keyring.encrypt(secret)
            row.totp_last_step = None
            await journal.record(s, "totp_enrolment_started", subject_id=user.id, ip=ip)
        uri = totp.provisioning_uri(secret, user.email, self.ctx.settings.totp_issuer)
        png = totp.qr_png(uri)
        return m.TotpEnrollment(otpauth_uri=uri, qr_png_base64=base64.b64encode(png).decode())

    async def qr(self, user: User) -> bytes:
        """The QR code PNG of the pending enrolment."""
        if user.totp_secret is None or user.totp_enabled:
            raise NotFound("not_found", "no two-factor enrolment in progress")
        secret = self.ctx.totp_secret(user)
        return totp.qr_png(totp.provisioning_uri(secret, user.email, self.ctx.settings.totp_issuer))

    async def verify(self, user: User, code: str, ip: str | None) -> m.RecoveryCodes:
        """Switch 2FA on with a first valid code; returns the recovery codes."""
        if user.totp_enabled:
            raise _already_on()
        if user.totp_secret is None:
            raise Conflict("conflict", "start the enrolment first (POST /auth/2fa/enroll)")
        step = totp.matching_step(self.ctx.totp_secret(user), code.strip(), last_step=None)
        if step is None:
            raise _no_match()
        codes = totp.new_recovery_codes()
        async with self.ctx.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.totp_enabled = True
            row.totp_last_step = step
            await accounts.replace_recovery_codes(
                s, user.id, [totp.hash_recovery_code(c) for c in codes]
            )
            await journal.record(s, "totp_enabled", subject_id=user.id, ip=ip)
        return m.RecoveryCodes(recovery_codes=codes)

    async def disable(self, user: User, req: m.TotpDisable, ip: str | None) -> None:
        """Switch 2FA off (password and a current code or a recovery code)."""
        if not user.totp_enabled:
            raise _not_on()
        if not await self.ctx.passwords.verify(user.password_hash, req.password):
            raise Unauthorized("invalid_password", "invalid password")
        refusal: Refusal | None = None
        async with self.ctx.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            step = totp.matching_step(
                self.ctx.totp_secret(row), req.code.strip(), last_step=row.totp_last_step
            )
            used = step is None and await accounts.use_recovery_code(
                s, user.id, totp.hash_recovery_code(req.code)
            )
            if step is None and not used:
                refusal = _no_match()
            else:
                row.totp_enabled = False
                row.totp_secret = None
                row.totp_last_step = None
                await accounts.replace_recovery_codes(s, user.id, [])
                await journal.record(s, "totp_disabled", subject_id=user.id, ip=ip)
        if refusal is not None:
            raise refusal

    async def new_recovery_codes(self, user: User, ip: str | None) -> m.RecoveryCodes:
        """Replace the recovery codes (2FA must be on)."""
        if not user.totp_enabled:
            raise _not_on()
        codes = totp.new_recovery_codes()
        async with self.ctx.db.write() as s:
            await accounts.replace_recovery_codes(
                s, user.id, [totp.hash_recovery_code(c) for c in codes]
            )
            await journal.record(s, "recovery_codes_renewed", subject_id=user.id, ip=ip)
        return m.RecoveryCodes(recovery_codes=codes)
