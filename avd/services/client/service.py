"""The Client service's operations, shared by its REST routes and in-process callers.

Refusals are :class:`~avd.web.errors.ApiError` with the HTTP status they map
to, so an in-process caller and a REST caller see the same errors.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from avd.domain.parameters import BotParameters, GlobalParameters, load_stored
from avd.secret_files import read_or_create
from avd.services.client import schemas as m
from avd.services.client.auth import totp
from avd.services.client.auth.keyring import KeyRing
from avd.services.client.auth.passwords import Passwords
from avd.services.client.auth.ratelimit import RateLimiter
from avd.services.client.auth.tokens import Claims, TokenError, Tokens, new_secret
from avd.services.client.fees import PaymentSimulator, compute_fee
from avd.services.client.settings import ClientSettings
from avd.store import accounts, journal, keys, ledger, parameters
from avd.store.database import Database
from avd.store.models import ApiKey, JournalEntry, User
from avd.store.money import money_str, utcnow
from avd.web.errors import ApiError
from avd.web.patch import merge_patch

log = logging.getLogger("avd.client")

JWT_SECRET_FILE = "jwt.secret"
FERNET_KEYS_FILE = "fernet.keys"
SERVICE_TOKEN_FILE = "service.token"


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})


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


class ClientService:
    """Accounts, authentication, exchange keys, the prepaid ledger and parameters."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        folder = settings.resolved_data_dir()
        self.db = Database(settings.resolved_database_url())
        jwt_secret = (
            settings.jwt_secret.get_secret_value()
            if settings.jwt_secret is not None
            else read_or_create(folder / JWT_SECRET_FILE, new_secret)
        )
        self.tokens = Tokens(
            jwt_secret,
            access_ttl=timedelta(minutes=settings.access_token_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_days),
        )
        self.keys_from_env = settings.fernet_keys is not None
        self.keyring_path = folder / FERNET_KEYS_FILE
        self.keyring = (
            KeyRing(KeyRing.parse(settings.fernet_keys.get_secret_value()))
            if settings.fernet_keys is not None
            else KeyRing.from_file(self.keyring_path)
        )
        self._service_token = (
            settings.service_token.get_secret_value()
            if settings.service_token is not None
            else read_or_create(folder / SERVICE_TOKEN_FILE, lambda: secrets.token_urlsafe(32))
        )
        self.passwords = Passwords(settings.argon2)
        self.limiter = RateLimiter(settings.login.rate_limit, settings.login.rate_window_seconds)
        self.payments = PaymentSimulator()
        self._started = False
        self._start_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientService(db={self.db.display_url!r})"

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the migrations and seed the global parameters (idempotent)."""
        async with self._start_lock:
            if self._started:
                return
            await self.db.upgrade()
            async with self.db.write() as s:
                if await parameters.global_(s) is None:
                    fees = self.settings.fees
                    seed = GlobalParameters(
                        fee_mode=fees.mode,
                        fee_percent=fees.percent,
                        min_balance_to_trade=fees.min_balance_to_trade,
                        registration_open=self.settings.registration_open,
                    )
                    await parameters.save_global(s, seed.model_dump_json())
            self._started = True
            log.info("client service ready (database %s)", self.db.display_url)

    async def stop(self) -> None:
        """Close the database connections."""
        await self.db.dispose()
        self._started = False

    # --- authentication ----------------------------------------------------------------

    def is_service_token(self, token: str) -> bool:
        """Whether ``token`` is the service-to-service token (constant time)."""
        return hmac.compare_digest(token.encode(), self._service_token.encode())

    async def authenticate(self, token: str | None, role: str | None) -> User:
        """The active user an access token belongs to; 401 if bad, 403 if wrong role."""
        if not token:
            raise _unauthorized("missing bearer token")
        if self.is_service_token(token):
            raise ApiError(403, "the service token is not a user token")
        try:
            claims = self.tokens.decode(token, "access")
        except TokenError as exc:
            raise _unauthorized(str(exc)) from None
        async with self.db.read() as s:
            user = await accounts.get(s, claims.user_id)
        if user is None or user.token_version != claims.version:
            raise _unauthorized("the token has been revoked")
        if user.blocked:
            raise ApiError(403, "this account is blocked", error="account_blocked")
        if role is not None and user.role != role:
            raise ApiError(403, f"this route is for the {role} role")
        return user

    async def authenticate_service(self, token: str | None) -> None:
        """Accept only the service token: 401 if missing or bad, 403 for a user token."""
        if not token:
            raise _unauthorized("missing bearer token")
        if self.is_service_token(token):
            return
        try:
            self.tokens.decode(token, "access")
        except TokenError:
            raise _unauthorized("the token is invalid") from None
        raise ApiError(403, "service-to-service route: a user token is not accepted")

    async def register(self, req: m.RegisterRequest, ip: str | None) -> m.User:
        """A new client account (201)."""
        if not (await self.global_parameters()).registration_open:
            raise ApiError(403, "registration is closed", error="registration_closed")
        return await self.create_user(req.email, req.password, "client", ip=ip)

    async def create_user(
        self, email: str, password: str, role: str, *, ip: str | None = None
    ) -> m.User:
        """Create an account of ``role``; 409 if the email is taken."""
        hashed = await self.passwords.hash(password)
        try:
            async with self.db.write() as s:
                if await accounts.by_email(s, email) is not None:
                    raise ApiError(409, "an account with this email already exists")
                user = await accounts.create(s, email, hashed, role)
                await journal.record(
                    s, "admin_created" if role == "admin" else "register", subject_id=user.id, ip=ip
                )
        except IntegrityError:  # a concurrent registration won the race
            raise ApiError(409, "an account with this email already exists") from None
        log.info("account %d created (role %s)", user.id, role)
        return user_out(user)

    async def login(self, req: m.LoginRequest, ip: str | None) -> m.TokenPair:
        """Tokens for valid credentials (and second factor); counts failures."""
        wait = self.limiter.hit(ip or "unknown")
        if wait is not None:
            raise ApiError(
                429,
                "too many login attempts from this address; retry later",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )
        email = req.email.strip().lower()
        async with self.db.read() as s:
            found = await accounts.by_email(s, email)
        if found is not None:
            self._refuse_if_locked(found)
        ok = await self.passwords.verify(found.password_hash if found else None, req.password)
        refusal: ApiError | None = None
        async with self.db.write() as s:
            user = await accounts.by_email(s, email, for_update=True)
            if user is None:
                await journal.record(s, "login_failed", ip=ip, reason="unknown account")
                refusal = _unauthorized("invalid email or password")
            else:
                self._refuse_if_locked(user)
                if not ok:
                    refusal = await self._failure(s, user, ip, "bad password")
                elif user.blocked:
                    await journal.record(s, "login_refused", subject_id=user.id, ip=ip)
                    refusal = ApiError(403, "this account is blocked", error="account_blocked")
                elif user.totp_enabled:
                    refusal = await self._second_factor(s, user, req, ip)
                if refusal is None:
                    user.failed_logins = 0
                    user.locked_until = None
                    pair = await self._issue(s, user)
                    await journal.record(s, "login", subject_id=user.id, ip=ip)
        if refusal is not None:
            raise refusal
        log.info("login succeeded for account %d", user.id if user else 0)
        return pair

    def _refuse_if_locked(self, user: User) -> None:
        if user.locked_until is not None and user.locked_until > utcnow():
            seconds = (user.locked_until - utcnow()).total_seconds()
            raise ApiError(
                423,
                "too many failed logins: the account is locked for a while",
                headers={"Retry-After": RateLimiter.retry_after(seconds)},
            )

    async def _failure(self, s: AsyncSession, user: User, ip: str | None, why: str) -> ApiError:
        user.failed_logins += 1
        await journal.record(s, "login_failed", subject_id=user.id, ip=ip, reason=why)
        if user.failed_logins >= self.settings.login.max_failures:
            seconds = self.settings.login.lockout_seconds
            user.locked_until = utcnow() + timedelta(seconds=seconds)
            user.failed_logins = 0
            await journal.record(s, "account_locked", subject_id=user.id, ip=ip, seconds=seconds)
            log.warning("account %d locked after repeated login failures", user.id)
            return ApiError(
                423,
                "too many failed logins: the account is locked for a while",
                headers={"Retry-After": str(seconds)},
            )
        if why == "bad password":
            return _unauthorized("invalid email or password")
        return ApiError(401, "invalid two-factor code", error="invalid_totp")

    async def _second_factor(
        self, s: AsyncSession, user: User, req: m.LoginRequest, ip: str | None
    ) -> ApiError | None:
        if req.totp:
            secret = self._totp_secret(user)
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
        return ApiError(
            401, "two-factor authentication is on: give the totp code", error="totp_required"
        )

    async def _issue(self, s: AsyncSession, user: User) -> m.TokenPair:
        access = self.tokens.issue(user.id, user.role, user.token_version, "access")
        refresh = self.tokens.issue(user.id, user.role, user.token_version, "refresh")
        await accounts.add_refresh(s, refresh.jti, user.id, refresh.expires_at)
        return m.TokenPair(
            access_token=self.tokens.encode(access),
            refresh_token=self.tokens.encode(refresh),
            expires_in=int(self.tokens.access_ttl.total_seconds()),
        )

    async def refresh(self, req: m.RefreshRequest) -> m.TokenPair:
        """A new pair for a live refresh token, which is used up (rotation)."""
        try:
            claims: Claims = self.tokens.decode(req.refresh_token, "refresh")
        except TokenError as exc:
            raise _unauthorized(str(exc)) from None
        refusal: ApiError | None = None
        async with self.db.write() as s:
            user = await accounts.lock(s, claims.user_id)
            if user is None or user.token_version != claims.version:
                refusal = _unauthorized("the token has been revoked")
            elif not await accounts.use_refresh(s, claims.jti, user.id):
                # a used refresh token presented again: assume theft, end every session
                await accounts.revoke_all_refresh(s, user.id)
                await journal.record(s, "refresh_reuse", subject_id=user.id)
                refusal = _unauthorized("the refresh token was already used or revoked")
            elif user.blocked:
                refusal = ApiError(403, "this account is blocked", error="account_blocked")
            else:
                pair = await self._issue(s, user)
        if refusal is not None:
            raise refusal
        return pair

    async def logout(self, user: User) -> None:
        """Revoke every token of ``user``."""
        async with self.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.token_version += 1
            await accounts.revoke_all_refresh(s, user.id)
            await journal.record(s, "logout", subject_id=user.id)

    # --- 2FA --------------------------------------------------------------------------

    def _totp_secret(self, user: User) -> str:
        assert user.totp_secret is not None
        return self.keyring.decrypt(user.totp_secret)

    async def totp_enroll(self, user: User, ip: str | None) -> m.TotpEnrollment:
        """Start (or restart) enrolment: a new secret, not yet active."""
        if user.totp_enabled:
            raise ApiError(409, "two-factor authentication is already on")
        secret = totp.new_secret()
        async with self.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.totp_secret = self.keyring.encrypt(secret)
            row.totp_last_step = None
            await journal.record(s, "totp_enrolment_started", subject_id=user.id, ip=ip)
        uri = totp.provisioning_uri(secret, user.email, self.settings.totp_issuer)
        png = totp.qr_png(uri)
        return m.TotpEnrollment(otpauth_uri=uri, qr_png_base64=base64.b64encode(png).decode())

    async def totp_qr(self, user: User) -> bytes:
        """The QR code PNG of the pending enrolment."""
        if user.totp_secret is None or user.totp_enabled:
            raise ApiError(404, "no two-factor enrolment in progress")
        uri = totp.provisioning_uri(self._totp_secret(user), user.email, self.settings.totp_issuer)
        return totp.qr_png(uri)

    async def totp_verify(self, user: User, code: str, ip: str | None) -> m.RecoveryCodes:
        """Switch 2FA on with a first valid code; returns the recovery codes."""
        if user.totp_enabled:
            raise ApiError(409, "two-factor authentication is already on")
        if user.totp_secret is None:
            raise ApiError(409, "start the enrolment first (POST /auth/2fa/enroll)")
        step = totp.matching_step(self._totp_secret(user), code.strip(), last_step=None)
        if step is None:
            raise ApiError(422, "the code does not match", error="invalid_totp")
        codes = totp.new_recovery_codes()
        async with self.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            row.totp_enabled = True
            row.totp_last_step = step
            await accounts.replace_recovery_codes(
                s, user.id, [totp.hash_recovery_code(c) for c in codes]
            )
            await journal.record(s, "totp_enabled", subject_id=user.id, ip=ip)
        return m.RecoveryCodes(recovery_codes=codes)

    async def totp_disable(self, user: User, req: m.TotpDisable, ip: str | None) -> None:
        """Switch 2FA off (password and a current code or a recovery code)."""
        if not user.totp_enabled:
            raise ApiError(409, "two-factor authentication is not on")
        if not await self.passwords.verify(user.password_hash, req.password):
            raise _unauthorized("invalid password")
        refusal: ApiError | None = None
        async with self.db.write() as s:
            row = await accounts.lock(s, user.id)
            assert row is not None
            step = totp.matching_step(
                self._totp_secret(row), req.code.strip(), last_step=row.totp_last_step
            )
            used = step is None and await accounts.use_recovery_code(
                s, user.id, totp.hash_recovery_code(req.code)
            )
            if step is None and not used:
                refusal = ApiError(422, "the code does not match", error="invalid_totp")
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
            raise ApiError(409, "two-factor authentication is not on")
        codes = totp.new_recovery_codes()
        async with self.db.write() as s:
            await accounts.replace_recovery_codes(
                s, user.id, [totp.hash_recovery_code(c) for c in codes]
            )
            await journal.record(s, "recovery_codes_renewed", subject_id=user.id, ip=ip)
        return m.RecoveryCodes(recovery_codes=codes)

    # --- funds ------------------------------------------------------------------------

    async def global_parameters(self) -> GlobalParameters:
        """The platform-wide parameters."""
        async with self.db.read() as s:
            raw = await parameters.global_(s)
        return load_stored(GlobalParameters, raw) if raw else GlobalParameters()

    async def deposit(self, user_id: int, req: m.DepositRequest) -> tuple[m.Deposit, bool]:
        """Deposit through the simulator; ``(deposit, replayed)``.

        A retry with the same idempotency key returns the first outcome and
        credits nothing; the same key with another amount is a 409.
        """
        if req.amount > self.settings.max_deposit:
            raise ApiError(422, f"a deposit is at most {money_str(self.settings.max_deposit)}")
        refusal: ApiError | None = None
        replayed = False
        async with self.db.write() as s:
            await accounts.lock(s, user_id)
            dep = await ledger.deposit_by_key(s, user_id, req.idempotency_key)
            if dep is not None:
                replayed = True
                if dep.amount != req.amount:
                    refusal = ApiError(409, "this idempotency key was used for a different amount")
            else:
                status = await self.payments.charge(req.amount, req.simulate)
                dep = await ledger.record_deposit(
                    s, user_id, req.idempotency_key, req.amount, status
                )
            bal = await ledger.balance(s, user_id)
        if refusal is not None:
            raise refusal
        out = m.Deposit(
            id=dep.id,
            amount=dep.amount,
            status=dep.status,
            idempotency_key=dep.idempotency_key,
            created_at=dep.created_at,
            balance=bal,
        )
        return out, replayed

    async def balance(self, user_id: int) -> Decimal:
        """The prepaid balance."""
        async with self.db.read() as s:
            return await ledger.balance(s, user_id)

    async def funds(self, user_id: int) -> m.Funds:
        """Balance, whether it allows trading, and the fee."""
        g = await self.global_parameters()
        bal = await self.balance(user_id)
        return m.Funds(
            balance=bal,
            can_trade=bal > g.min_balance_to_trade,
            fee_mode=g.fee_mode,
            fee_percent=g.fee_percent,
            min_balance_to_trade=g.min_balance_to_trade,
        )

    async def history(self, user_id: int, limit: int, offset: int) -> m.History:
        """Deposits, fees, refunds, adjustments and trades, newest first."""
        n = limit + offset
        async with self.db.read() as s:
            deps = await ledger.deposits(s, user_id, n)
            moves = await ledger.entries(s, user_id, n)
            closed = await ledger.trades(s, user_id, n)
        ops: list[m.Operation] = [
            m.Operation(type="deposit", id=d.id, at=d.created_at, amount=d.amount, status=d.status)
            for d in deps
        ]
        ops += [
            m.Operation(
                type=e.kind,
                id=e.id,
                at=e.created_at,
                amount=e.amount,
                reason=e.reason,
            )
            for e in moves
        ]
        ops += [
            m.Operation(
                type="trade",
                id=t.id,
                at=t.closed_at,
                amount=t.notional,
                trade_ref=t.trade_ref,
                symbol=t.symbol,
                fee=t.charged,
                reason=f"profit {money_str(t.profit)}",
            )
            for t in closed
        ]
        ops.sort(key=lambda o: (o.at, o.type, o.id), reverse=True)
        return m.History(operations=ops[offset : offset + limit], limit=limit, offset=offset)

    # --- parameters -------------------------------------------------------------------

    async def parameters(self, user_id: int) -> BotParameters:
        """The client's bot parameters (defaults until saved)."""
        async with self.db.read() as s:
            raw = await parameters.client(s, user_id)
        return load_stored(BotParameters, raw) if raw else BotParameters()

    async def save_parameters(self, user_id: int, params: BotParameters) -> BotParameters:
        """Replace the bot parameters; live mode needs a stored API key."""
        async with self.db.write() as s:
            await accounts.lock(s, user_id)
            await self._store_parameters(s, user_id, params, "replaced")
        return params

    async def patch_parameters(self, user_id: int, patch: dict[str, Any]) -> BotParameters:
        """Apply a JSON merge patch to the bot parameters (RFC 7396, see avd.web.patch).

        The result is validated whole (a ``ValidationError`` names what is
        wrong, and nothing is saved). The read, the merge and the write are
        one transaction holding the account's row (``FOR UPDATE`` on
        PostgreSQL, the write lock on SQLite), so concurrent patches of one
        client apply one after the other and none is lost.
        """
        async with self.db.write() as s:
            await accounts.lock(s, user_id)
            raw = await parameters.client(s, user_id)
            current = load_stored(BotParameters, raw) if raw else BotParameters()
            merged = merge_patch(current.model_dump(mode="json"), patch)
            # JSON validation, so a number in the patch is refused as in any body
            params = BotParameters.model_validate_json(json.dumps(merged))
            await self._store_parameters(s, user_id, params, "patched", sorted(patch))
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
            raise ApiError(409, "live mode needs an exchange API key: add one first")
        await parameters.save_client(s, user_id, params.model_dump_json())
        await journal.record(
            s,
            "parameters_changed",
            subject_id=user_id,
            how=how,
            fields=list(fields if fields is not None else BotParameters.model_fields),
            mode=params.mode,
            enabled=params.enabled,
        )

    # --- exchange keys ----------------------------------------------------------------

    async def add_api_key(self, user_id: int, req: m.ApiKeyCreate, ip: str | None) -> m.ApiKey:
        """Encrypt and store a key pair."""
        async with self.db.write() as s:
            row = await keys.add(
                s,
                user_id,
                req.label,
                self.keyring.encrypt(req.api_key),
                self.keyring.encrypt(req.api_secret),
                req.api_key[-4:],
                req.api_secret[-4:],
            )
            await journal.record(s, "api_key_added", subject_id=user_id, ip=ip, key_id=row.id)
        log.info("api key %d added for account %d", row.id, user_id)
        return self._key_out(row)

    @staticmethod
    def _key_out(row: ApiKey) -> m.ApiKey:
        return m.ApiKey(
            id=row.id,
            label=row.label,
            api_key_last4=row.key_last4,
            api_secret_last4=row.secret_last4,
            created_at=row.created_at,
        )

    async def api_keys(self, user_id: int) -> m.ApiKeys:
        """The client's key pairs (last four characters only)."""
        async with self.db.read() as s:
            rows = await keys.of_user(s, user_id)
        return m.ApiKeys(keys=[self._key_out(r) for r in rows])

    async def delete_api_key(self, user_id: int, key_id: int, ip: str | None) -> None:
        """Delete one of the client's key pairs (404 if it is not theirs)."""
        async with self.db.write() as s:
            row = await keys.get_owned(s, user_id, key_id)
            if row is None:
                raise ApiError(404, "no such API key")
            await s.delete(row)
            await journal.record(s, "api_key_deleted", subject_id=user_id, ip=ip, key_id=key_id)

    async def credentials(self, client_id: int, key_id: int | None) -> m.ExchangeCredentials:
        """Decrypt a key pair for the trade engine's signing path."""
        async with self.db.read() as s:
            row = (
                await keys.newest(s, client_id)
                if key_id is None
                else await keys.get_owned(s, client_id, key_id)
            )
        if row is None:
            raise ApiError(404, "no such API key")
        try:
            api_key = self.keyring.decrypt(row.key_enc)
            api_secret = self.keyring.decrypt(row.secret_enc)
        except InvalidToken:
            log.error("api key %d cannot be decrypted with the configured keys", row.id)
            raise ApiError(503, "the stored API key cannot be decrypted") from None
        return m.ExchangeCredentials(
            client_id=client_id, key_id=row.id, api_key=api_key, api_secret=api_secret
        )

    # --- service-to-service -----------------------------------------------------------

    async def _client(self, client_id: int) -> User:
        async with self.db.read() as s:
            user = await accounts.get(s, client_id)
        if user is None or user.role != "client":
            raise ApiError(404, "no such client")
        return user

    async def internal_balance(self, client_id: int) -> m.InternalBalance:
        """Balance and trading permission of a client."""
        user = await self._client(client_id)
        funds = await self.funds(client_id)
        return m.InternalBalance(
            client_id=client_id,
            balance=funds.balance,
            can_trade=funds.can_trade and not user.blocked,
            blocked=user.blocked,
        )

    async def check_trade(self, client_id: int) -> m.TradeAllowance:
        """Allow a new trade, or refuse it with 402 (balance) or 403 (blocked)."""
        b = await self.internal_balance(client_id)
        if b.blocked:
            raise ApiError(403, "this account is blocked", error="account_blocked")
        if not b.can_trade:
            raise ApiError(
                402,
                f"the prepaid balance ({money_str(b.balance)} USDT) is exhausted: "
                "deposit to trade again",
                error="insufficient_balance",
                balance=money_str(b.balance),
            )
        return m.TradeAllowance(client_id=client_id, allowed=True, balance=b.balance)

    async def charge_fee(self, req: m.FeeCharge) -> m.FeeCharged:
        """Charge the platform fee on a closed trade (once per ``trade_ref``)."""
        await self._client(req.client_id)
        g = await self.global_parameters()
        fee = compute_fee(g.fee_mode, g.fee_percent, req.notional, req.profit)
        async with self.db.write() as s:
            await accounts.lock(s, req.client_id)
            r = await ledger.charge_trade(
                s, req.client_id, req.trade_ref, req.symbol, req.notional, req.profit, fee
            )
        return m.FeeCharged(
            client_id=req.client_id,
            trade_ref=req.trade_ref,
            fee=r.fee,
            charged=r.charged,
            shortfall=r.shortfall,
            balance=r.balance,
            duplicate=r.duplicate,
        )

    # --- admin ------------------------------------------------------------------------

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Every client allowed to trade (not blocked), with its bot parameters."""
        out: list[tuple[int, BotParameters]] = []
        offset = 0
        while True:
            async with self.db.read() as s:
                users = await accounts.page(s, 500, offset)
            for u in users:
                if u.role == "client" and not u.blocked:
                    out.append((u.id, await self.parameters(u.id)))
            if len(users) < 500:
                return out
            offset += 500

    async def list_clients(self, limit: int, offset: int) -> m.ClientList:
        """Accounts with their balances."""
        async with self.db.read() as s:
            users = await accounts.page(s, limit, offset)
            out = [
                m.ClientSummary(**user_out(u).model_dump(), balance=await ledger.balance(s, u.id))
                for u in users
            ]
        return m.ClientList(clients=out, limit=limit, offset=offset)

    async def set_blocked(
        self, admin: User, client_id: int, blocked: bool, reason: str | None, ip: str | None
    ) -> m.User:
        """Block (revoking every token) or unblock an account."""
        if client_id == admin.id:
            raise ApiError(409, "an admin cannot block their own account")
        async with self.db.write() as s:
            user = await accounts.lock(s, client_id)
            if user is None:
                raise ApiError(404, "no such account")
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
        return user_out(user)

    async def adjust(
        self, admin: User, client_id: int, req: m.Adjustment, ip: str | None
    ) -> m.LedgerEntry:
        """A manual ledger entry; refused (409) if it would make the balance negative."""
        if req.kind == "refund" and req.amount <= 0:
            raise ApiError(422, "a refund credits the client: the amount must be positive")
        refusal: ApiError | None = None
        async with self.db.write() as s:
            user = await accounts.lock(s, client_id)
            if user is None:
                raise ApiError(404, "no such account")
            bal = await ledger.balance(s, client_id)
            if bal + req.amount < 0:
                refusal = ApiError(
                    409,
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

    async def save_global_parameters(
        self, admin: User, params: GlobalParameters, ip: str | None
    ) -> GlobalParameters:
        """Replace the global parameters (journaled)."""
        async with self.db.write() as s:
            await self._store_global(s, admin, params, ip)
        return params

    async def patch_global_parameters(
        self, admin: User, patch: dict[str, Any], ip: str | None
    ) -> GlobalParameters:
        """Apply a JSON merge patch to the global parameters, validated whole (journaled).

        One write transaction: SQLite's write lock, on PostgreSQL the
        parameters' row locked before it is read.
        """
        async with self.db.write() as s:
            raw = await parameters.global_(s, for_update=True)
            current = load_stored(GlobalParameters, raw) if raw else GlobalParameters()
            merged = merge_patch(current.model_dump(mode="json"), patch)
            params = GlobalParameters.model_validate_json(json.dumps(merged))
            await self._store_global(s, admin, params, ip)
        return params

    async def _store_global(
        self, s: AsyncSession, admin: User, params: GlobalParameters, ip: str | None
    ) -> None:
        await parameters.save_global(s, params.model_dump_json())
        await journal.record(
            s,
            "global_parameters_changed",
            actor_id=admin.id,
            ip=ip,
            **json.loads(params.model_dump_json()),
        )

    async def settle_deposit(
        self, admin: User, deposit_id: int, succeeded: bool, ip: str | None
    ) -> m.Deposit:
        """Settle a pending deposit."""
        async with self.db.write() as s:
            dep = await ledger.deposit_by_id(s, deposit_id)
            if dep is None:
                raise ApiError(404, "no such deposit")
            await accounts.lock(s, dep.user_id)
            if dep.status != "pending":
                raise ApiError(409, f"the deposit is already {dep.status}")
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
        return m.Deposit(
            id=dep.id,
            amount=dep.amount,
            status=dep.status,
            idempotency_key=dep.idempotency_key,
            created_at=dep.created_at,
            balance=bal,
        )

    async def journal(
        self, limit: int, offset: int, action: str | None, subject_id: int | None
    ) -> m.Journal:
        """Audit-log entries, newest first."""
        async with self.db.read() as s:
            rows: Sequence[JournalEntry] = await journal.page(
                s, limit, offset, action=action, subject_id=subject_id
            )
        lines = []
        for r in rows:
            lines.append(
                m.JournalLine(
                    id=r.id,
                    at=r.at,
                    action=r.action,
                    actor_id=r.actor_id,
                    subject_id=r.subject_id,
                    ip=r.ip,
                    detail=json.loads(r.detail),
                )
            )
        return m.Journal(entries=lines, limit=limit, offset=offset)

    # --- key rotation -----------------------------------------------------------------

    async def reencrypt(self, ring: KeyRing) -> int:
        """Re-encrypt every stored secret under ``ring``'s newest key; the count."""
        count = 0
        async with self.db.write() as s:
            for row in await keys.all_rows(s):
                row.key_enc = ring.rotate(row.key_enc)
                row.secret_enc = ring.rotate(row.secret_enc)
                count += 1
            users = (await s.execute(select(User).where(User.totp_secret.is_not(None)))).scalars()
            for u in users:
                assert u.totp_secret is not None
                u.totp_secret = ring.rotate(u.totp_secret)
                count += 1
            await journal.record(s, "keys_rotated", secrets=count)
        self.keyring = ring
        return count
