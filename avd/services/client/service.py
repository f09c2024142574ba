"""The Client service as one object, for its routes, the in-process gateway and the CLI.

:class:`ClientService` loads the secrets, opens the database and builds the
parts, one responsibility each:

=====================  ==========================================================
part                   what it does
=====================  ==========================================================
``accounts``           tokens to users, registration, login, refresh, logout
``two_factor``         TOTP enrolment, switching it on and off, recovery codes
``prepaid``            deposits, balances, history, the trade check, the fee
``exchange_keys``      exchange API keys, decrypted credentials, re-encryption
``parameter_sets``     bot and global parameters (PUT, PATCH), the bots
``admin``              clients list, block, adjustments, settlement, journal
=====================  ==========================================================

Their operations are bound here under the names callers use
(``service.login``, ``service.check_trade``...). Refusals are the classes of
:mod:`avd.domain.errors`; only the HTTP edge maps them to statuses.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from avd.secret_files import read_or_create
from avd.services.client.accounts import Accounts, user_out
from avd.services.client.admin import Admin
from avd.services.client.auth.keyring import KeyRing
from avd.services.client.auth.passwords import Passwords
from avd.services.client.auth.ratelimit import RateLimiter
from avd.services.client.auth.signing import SigningKeys
from avd.services.client.auth.tokens import Tokens, new_secret
from avd.services.client.context import Context
from avd.services.client.fees import PaymentSimulator
from avd.services.client.funds import Funds
from avd.services.client.keys import ExchangeKeys
from avd.services.client.parameters import Parameters
from avd.services.client.settings import ClientSettings
from avd.services.client.twofactor import TwoFactor
from avd.store.database import Database
from avd.web.service_token import service_token

log = logging.getLogger("avd.client")

JWT_SECRET_FILE = "jwt.secret"
SIGNING_KEYS_FILE = "jwt-signing.keys"
FERNET_KEYS_FILE = "fernet.keys"

__all__ = ["ClientService", "user_out"]


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
        self.signing_keys_path = folder / SIGNING_KEYS_FILE
        signing = (
            SigningKeys(SigningKeys.parse(settings.jwt_signing_keys.get_secret_value()))
            if settings.jwt_signing_keys is not None
            else SigningKeys.from_file(self.signing_keys_path)
        )
        self.tokens = Tokens(
            jwt_secret,
            signing,
            access_ttl=timedelta(minutes=settings.access_token_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_days),
        )
        self.keys_from_env = settings.fernet_keys is not None
        self.keyring_path = folder / FERNET_KEYS_FILE
        keyring = (
            KeyRing(KeyRing.parse(settings.fernet_keys.get_secret_value()))
            if settings.fernet_keys is not None
            else KeyRing.from_file(self.keyring_path)
        )
        # AVD_SERVICE_TOKEN (one for every service), else the data folder's
        self._service_token = service_token(
            folder,
            settings.service_token.get_secret_value() if settings.service_token else None,
        )
        self.ctx = Context(settings, self.db, self.tokens, keyring, Passwords(settings.argon2))
        login = settings.login
        self.limiter = RateLimiter(self.db, login.rate_limit, login.rate_window_seconds)
        self.payments = PaymentSimulator()
        self._started = False
        self._start_lock = asyncio.Lock()

        self.parameter_sets = Parameters(self.ctx)
        self.accounts = Accounts(self.ctx, self.parameter_sets, self.limiter, self._service_token)
        self.two_factor = TwoFactor(self.ctx)
        self.prepaid = Funds(self.ctx, self.parameter_sets, self.payments)
        self.exchange_keys = ExchangeKeys(self.ctx)
        self.admin = Admin(self.ctx)

        # the operations, under the names the routes, the gateway and the CLI use
        a, t, f, k, p, adm = (
            self.accounts,
            self.two_factor,
            self.prepaid,
            self.exchange_keys,
            self.parameter_sets,
            self.admin,
        )
        self.is_service_token = a.is_service_token
        self.authenticate = a.authenticate
        self.authenticate_service = a.authenticate_service
        self.register = a.register
        self.create_user = a.create_user
        self.login = a.login
        self.refresh = a.refresh
        self.logout = a.logout
        self.totp_enroll = t.enroll
        self.totp_qr = t.qr
        self.totp_verify = t.verify
        self.totp_disable = t.disable
        self.new_recovery_codes = t.new_recovery_codes
        self.deposit = f.deposit
        self.balance = f.balance
        self.funds = f.funds
        self.history = f.history
        self.internal_balance = f.internal_balance
        self.check_trade = f.check_trade
        self.charge_fee = f.charge_fee
        self.add_api_key = k.add
        self.api_keys = k.of_client
        self.delete_api_key = k.delete
        self.credentials = k.credentials
        self.reencrypt = k.reencrypt
        self.parameters = p.parameters
        self.save_parameters = p.save_parameters
        self.patch_parameters = p.patch_parameters
        self.bots = p.bots
        self.global_parameters = p.global_parameters
        self.save_global_parameters = p.save_global_parameters
        self.patch_global_parameters = p.patch_global_parameters
        self.list_clients = adm.list_clients
        self.client = adm.client
        self.set_blocked = adm.set_blocked
        self.adjust = adm.adjust
        self.settle_deposit = adm.settle_deposit
        self.journal = adm.journal

    def __repr__(self) -> str:
        return f"ClientService(db={self.db.display_url!r})"

    @property
    def keyring(self) -> KeyRing:
        """The Fernet keys that encrypt the stored secrets."""
        return self.ctx.keyring

    @property
    def signing_keys(self) -> SigningKeys:
        """The Ed25519 keys that sign access tokens (public halves: :meth:`jwks`)."""
        return self.tokens.signing

    def jwks(self) -> dict[str, object]:
        """The public keys that verify access tokens, as a JSON Web Key Set."""
        return self.tokens.signing.jwks()

    async def start(self) -> None:
        """Apply the migrations and seed the global parameters (idempotent)."""
        async with self._start_lock:
            if self._started:
                return
            await self.db.upgrade()
            await self.parameter_sets.seed_global()
            self._started = True
            log.info("client service ready (database %s)", self.db.display_url)

    async def stop(self) -> None:
        """Close the database connections."""
        await self.db.dispose()
        self._started = False
