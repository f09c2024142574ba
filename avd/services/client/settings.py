"""The Client service's configuration (JSON file + ``AVD_CLIENT_*`` overrides)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avd.paths import data_dir
from avd.services.client.auth.passwords import Argon2Settings
from avd.settings import BusSettings, ServiceSettings
from avd.store.database import default_sqlite_url


class LoginSettings(BaseModel):
    """Brute-force protection of ``POST /auth/login``."""

    model_config = {"extra": "forbid", "frozen": True}

    max_failures: int = Field(default=5, ge=1, le=100, description="failures before the lockout")
    lockout_seconds: int = Field(default=900, ge=1, le=86400)
    rate_limit: int = Field(default=20, ge=1, description="attempts per address per window")
    rate_window_seconds: int = Field(default=60, ge=1)


class FeeSettings(BaseModel):
    """Initial platform fee (admins change it later with the global parameters)."""

    model_config = {"extra": "forbid", "frozen": True}

    mode: Literal["notional", "profit"] = "notional"
    percent: Decimal = Field(default=Decimal("0.1"), ge=0, le=50)
    min_balance_to_trade: Decimal = Field(default=Decimal("0"), ge=0)


class ClientSettings(ServiceSettings):
    """Settings of the Client service."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_CLIENT_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8003, ge=0, le=65535)
    #: ``avd serve client`` only: Redis Streams between the processes
    #: (``--bus``): the client changes go out on it (``avd run`` has its own ``bus``)
    bus: BusSettings | None = None
    data_dir: Path | None = Field(default=None, description="default: $AVD_DATA_DIR or ./avd-data")
    database_url: SecretStr | None = Field(
        default=None,
        description="sqlite:///... or postgresql://...; default: client.db in the data dir",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 secret of refresh tokens; default: generated in the data dir",
    )
    jwt_signing_keys: SecretStr | None = Field(
        default=None,
        description="Ed25519 keys of access tokens (base64url seeds, comma-separated, newest "
        "first); default: jwt-signing.keys in the data dir",
    )
    fernet_keys: SecretStr | None = Field(
        default=None,
        description="comma-separated, newest first; default: fernet.keys in the data dir",
    )
    service_token: SecretStr | None = Field(
        default=None, description="service-to-service token; default: generated in the data dir"
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    totp_issuer: str = "AVD"
    registration_open: bool = True
    max_deposit: Decimal = Field(default=Decimal("1000000"), gt=0)
    login: LoginSettings = LoginSettings()
    fees: FeeSettings = FeeSettings()
    argon2: Argon2Settings = Argon2Settings()

    def resolved_data_dir(self) -> Path:
        """The data folder (created 0700)."""
        return data_dir(self.data_dir)

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return default_sqlite_url(self.resolved_data_dir())
