"""Configuration of the local Binance simulator (``avd sim``).

Loaded with :func:`avd.settings.load_settings` from defaults, an optional JSON
file and ``AVD_SIM_*`` environment variables (``AVD_SIM_SPEED=60``,
``AVD_SIM_FAULTS__DELAY_MS=50``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from avd import _core
from avd.settings import ServiceSettings

DEFAULT_API_KEY = "avdSimulatorKey0000000000000000000000000000000000000000000000001"
DEFAULT_API_SECRET = "avdSimulatorSecret00000000000000000000000000000000000000000000001"


class AccountConfig(BaseModel):
    """One simulated account: its API key, secret and starting balances."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")
    secret: str = Field(min_length=1)
    balances: dict[str, Decimal] = Field(
        default_factory=lambda: {"USDT": Decimal("10000"), "BTC": Decimal("0.1")}
    )


class FaultConfig(BaseModel):
    """Faults to inject; every counter is "the next N" and counts down when used.

    The same model is accepted by ``POST /sim/admin/faults``.
    """

    model_config = ConfigDict(extra="forbid")

    http_status: int = Field(
        default=0, description="answer REST requests with this status (5xx, 429, 418)"
    )
    http_count: int = Field(
        default=0, ge=0, description="how many REST requests get ``http_status``"
    )
    http_path: str = Field(default="", description="only requests whose path starts with this")
    retry_after: int = Field(default=1, ge=0, description="Retry-After seconds for 429/418 faults")
    timestamp_errors: int = Field(
        default=0, ge=0, description="next N signed requests answer -1021"
    )
    reject_orders: int = Field(default=0, ge=0, description="next N new orders answer -2010")
    partial_fills: int = Field(default=0, ge=0, description="next N orders fill only partially")
    partial_fraction: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1)
    delay_ms: int = Field(default=0, ge=0, description="delay of every stream message")
    drop_after_messages: int = Field(default=0, ge=0, description="drop a stream after N messages")
    depth_gap: int = Field(
        default=0,
        ge=0,
        description="the next N depth diffs are not sent (their update ids are skipped: a gap)",
    )


class SimConfig(ServiceSettings):
    """The simulator's settings."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_SIM_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    data: Path | None = Field(
        default=None, description="folder (or file) of SYMBOL-INTERVAL.csv.gz"
    )
    symbols: list[str] = Field(default_factory=list, description="subset to replay; [] = all")
    ticks: Path | None = Field(
        default=None,
        description="a raw websocket recording (<ns> <JSON> lines) to replay instead of candles",
    )
    interval: str | None = Field(
        default=None,
        description="the candle interval replayed; default: the finest interval every symbol has",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    speed: float = Field(
        default=1.0, ge=0, description="0 = as fast as consumers take, 1 = real time"
    )
    start: datetime | None = Field(
        default=None, description="replay start (UTC); default: first candle"
    )
    paused: bool = Field(default=False, description="start with the replay paused")
    step_ms: int = Field(default=2000, ge=100, description="simulated ms between market updates")
    book_levels: int = Field(default=100, ge=5, le=5000)
    book_seed: int = Field(default=0, ge=0, description="seed of the synthesized order books")
    agg_trades_kept: int = Field(default=10000, ge=100)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal("0")
    weight_limit: int = Field(default=6000, ge=1)
    ban_after_429s: int = Field(default=5, ge=1, description="429s ignored before a 418 ban")
    ban_seconds: int = Field(default=120, ge=1)
    order_limit_10s: int = Field(default=100, ge=1)
    queue_limit: int = Field(
        default=2000, ge=10, description="per-connection backlog before waiting"
    )
    slow_consumer_timeout_s: float = Field(default=30.0, gt=0)
    max_connection_s: float = Field(
        default=86400.0, gt=0, description="forced stream cut (Binance: 24h)"
    )
    ping_interval_s: float = Field(default=20.0, gt=0)
    ping_timeout_s: float = Field(default=60.0, gt=0)
    accounts: list[AccountConfig] = Field(
        default_factory=lambda: [AccountConfig(api_key=DEFAULT_API_KEY, secret=DEFAULT_API_SECRET)]
    )
    faults: FaultConfig = Field(default_factory=lambda: FaultConfig())

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str | None) -> str | None:
        if v is not None:
            _core.interval_ms(v)  # a ValueError naming the known intervals
        return v

    @field_validator("start")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @property
    def start_ms(self) -> int | None:
        """The start time in epoch ms, if one was given."""
        return None if self.start is None else int(self.start.timestamp() * 1000)
