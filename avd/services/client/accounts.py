"""Accounts and sessions: authentication, registration, login, refresh, logout."""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from avd.domain.errors import Conflict, Forbidden, Locked, Refusal, TooManyRequests, Unauthorized
from avd.services.client import schemas as m
from avd.services.client.auth import totp
from avd.services.client.auth.ratelimit import RateLimiter
from avd.services.client.auth.tokens import Claims, TokenError
from avd.services.client.context import Context
from avd.services.client.parameters import Parameters
from avd.store import accounts, journal
from avd.store.models import User
from avd.store.money import utcnow

log = logging.getLogger("avd.client")

LOCKED = "too many failed logins: the account is locked for a while"


def user_out(u: User) -> m.User:
    """The public view of an account."""
    role: m.Role = "admin" if u.role == "admin" else "client"
    return m.User(
        id=u.id,
        email=u.email,
        role=role,
        blocked=u.blocked,
        totp_enabled=u.totp_enabled,
        created_at=u.created_at,
    )


def blocked() -> Forbidden:
    """The refusal of a blocked account."""
    return Forbidden("account_blocked", "this account is blocked")


def unauthorized(detail: str) -> Unauthorized:
    """A 401 with the generic code."""
    return Unauthorized("unauthorized", detail)


class Accounts:
    """Who a token belongs to; accounts and their sessions."""

    def __init__(
        self, ctx: Context, parameters: Parameters, limiter: RateLimiter, service_token: str
    ) -> None:
        self.ctx = ctx
        self.parameters = parameters
        self.limiter = limiter
        self._service_token = service_token

    # --- authentication ----------------------------------------------------------------

    def is_service_token(self, token: str) -> bool:
        """Whether ``token`` is the service-to-service token (constant time)."""
        return hmac.compare_digest(token.encode(), self._service_token.encode())

    async def authenticate(self, token: str | None, role: str | None) -> User:
        """The active user an access token belongs to; 401 if bad, 403 if wrong role."""
        if not token:
            raise unauthorized("missing bearer token")
        if self.is_service_token(token):
            raise Forbidden("forbidden", "the service token is not a user token")
        claims = self.ctx.tokens.decode(token, "access")
        async with self.ctx.db.read() as s:
            user = await accounts.get(s, claims.user_id)
        if user is None or user.token_version != claims.version:
            raise unauthorized("the token has been revoked")
        if user.blocked:
            raise blocked()
        if role is not None and user.role != role:
            raise Forbidden("forbidden", f"this route is for the {role} role")
        return user

    async def authenticate_service(self, token: str | None) -> None:
        """Accept only the service token: 401 if missing or bad, 403 for a user token."""
        if not token:
            raise unauthorized("missing bearer token")
        if self.is_service_token(token):
            return
        try:
            self.ctx.tokens.decode(token, "access")
        except TokenError:
            raise unauthorized("the token is invalid") from None
        raise Forbidden("forbidden", "service-to-service route: a user token is not accepted")

    # --- accounts ----------------------------------------------------------------------

    async def register(self, req: m.RegisterRequest, ip: str | None) -> m.User:
        """A new client account (201)."""
        if not (await self.parameters.global_parameters()).registration_open:
            raise Forbidden("registration_closed", "registration is closed")
        return await self.create_user(req.email, req.password, "client", ip=ip)

    async def create_user(
        self, email: str, password: str, role: str, *, ip: str | None = None
    ) -> m.User:
        """Create an account of ``role``; 409 if the email is taken."""
        taken = Conflict("conflict", "an account with this email already exists")
        hashed = await self.ctx.passwords.hash(password)
        try:
            async with self.ctx.db.write() as s:
                if await accounts.by_email(s, email) is not None:
                    raise taken
                user = await accounts.create(s, email, hashed, role)
                await journal.record(
                    s, "admin_created" if role == "admin" else "register", subject_id=user.id, ip=ip
                )
        except IntegrityError:  # a concurrent registration won the race
            raise taken from None
        log.info("account %d created (role %s)", user.id, role)
        return user_out(user)

    # --- sessions ----------------------------------------------------------------------

    async def login(self, req: m.LoginRequest, ip: str | None) -> m.TokenPair:
        """Tokens for valid credentials (and second factor); counts failures."""
        wait = await self.limiter.hit(ip or "unknown")
        if wait is not None:
            raise TooManyRequests(
                "too_many_requests",
                "too many login attempts from this address; retry later",
                retry_after_s=RateLimiter.retry_after(wait),
            )
        email = req.email.strip().lower()
        async with self.ctx.db.read() as s:
            found = await accounts.by_email(s, email)
        if found is not None:
            self._refuse_if_locked(found)
        ok = await self.ctx.passwords.verify(found.password_hash if found else None, req.password)
        refusal: Refusal | None = None
        async with self.ctx.db.write() as s:
            user = await accounts.by_email(s, email, for_update=True)
            if user is None:
                await journal.record(s, "login_failed", ip=ip, reason="unknown account")
                refusal = unauthorized("invalid email or password")
            else:
                self._refuse_if_locked(user)
                if not ok:
                    refusal = await self._failure(s, user, ip, "bad password")
                elif user.blocked:
                    await journal.record(s, "login_refused", subject_id=user.id, ip=ip)
                    refusal = blocked()
                elif user.totp_enabled:
                    refusal = await self._second_factor(s, user, req, ip)
                if refusal is None:
                    user.failed_logins = 0
                    user.locked_until = None
                    pair = await self._issue(s, user)
                    await journal.record(s, "login", subject_id=user.id, ip=ip)
        # raised after the transaction, so the failure it counted is committed
        if refusal is not None:
            raise refusal
        log.info("login succeeded for account %d", user.id if user else 0)
        return pair

    @staticmethod
    def _refuse_if_locked(user: User) -> None:
        if user.locked_until is not None and user.locked_until > utcnow():
            seconds = (user.locked_until - utcnow()).total_seconds()
            raise Locked("locked", LOCKED, retry_after_s=RateLimiter.retry_after(seconds))

    async def _failure(self, s: AsyncSession, user: User, ip: str | None, why: str) -> Refusal:
        user.failed_logins += 1
        await journal.record(s, "login_failed", subject_id=user.id, ip=ip, reason=why)
        rules = self.ctx.settings.login
        if user.failed_logins >= rules.max_failures:
            seconds = rules.lockout_seconds
            user.locked_until = utcnow() + timedelta(seconds=seconds)
            user.failed_logins = 0
            await journal.record(s, "account_locked", subject_id=user.id, ip=ip, seconds=seconds)
            log.warning("account %d locked after repeated login failures", user.id)
            return Locked("locked", LOCKED, retry_after_s=seconds)
        if why == "bad password":
            return unauthorized("invalid email or password")
        return Unauthorized("invalid_totp", "invalid two-factor code")

    async def _second_factor(
        self, s: AsyncSession, user: User, req: m.LoginRequest, ip: str | None
    ) -> Refusal | None:
        if req.totp:
            secret = self.ctx.totp_secret(user)
            step = totp.matching_step(secret, req.totp.strip(), last_step=user.totp_last_step)
            if step is None:
                return await self._failure(s, user, ip, "bad totp")
            user.totp_last_step = step
            return None
        if req.recovery_code:
            if await accounts.use_recovery_code(
                s, user.id, totp.hash_recovery_code(req.recovery_code)
            ):
                await journal.record(s, "recovery_code_used", subject_id=user.id, ip=ip)
                return None
            return await self._failure(s, user, ip, "bad recovery code")
        return Unauthorized("totp_required", "two-factor authentication is on: give the totp code")

    async def _issue(self, s: AsyncSession, user: User) -> m.TokenPair:
        tokens = self.ctx.tokens
        access = tokens.issue(user.id, user.role, user.token_version, "access")
        refresh = tokens.issue(user.id, user.role, user.token_version, "refresh")
        await accounts.add_refresh(s, refresh.jti, user.id, refresh.expires_at)
        return m.TokenPair(
            access_token=tokens.encode(access),
            refresh_token=tokens.encode(refresh),
            expires_in=int(tokens.access_ttl.total_seconds()),
        )

    async def refresh(self, req: m.RefreshRequest) -> m.TokenPair:
        """A new pair for a live refresh token, which is used up (rotation)."""
        claims: Claims = self.ctx.tokens.decode(req.refresh_token, "refresh")
        refusal: Refusal | None = None
        async with self.ctx.db.write() as s:
            user = await accounts.lock(s, claims.user_id)
            if user is None or user.token_version != claims.version:
                refusal = unauthorized("the token has been revoked")
            elif not await accounts.use_refresh(s, claims.jti, user.id):
                # a used refresh token presented again: assume theft, end every session
                await accounts.revoke_all_refresh(s, user.id)
                await journal.record(s, "refresh_reuse", subject_id=user.id)
                refusal = unauthorized("the refresh token was already used or revoked")
            elif user.blocked:
                refusal = blocked()
            else:
                pair = await self._issue(s, user)
        if refusal is not None:
            raise refusal
        return pair

    async def logout(self, user: User) -> None:
        """Revoke every token of ``user``."""
        async with self.ctx.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.token_version += 1
            await accounts.revoke_all_refresh(s, user.id)
            await journal.record(s, "logout", subject_id=user.id)
