"""The TradeEngine service's settings (the ``trade`` section of ``avd run``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avd.paths import data_dir
from avd.services.trade.leases import WorkerSettings
from avd.services.trade.risk_types import RiskLimits
from avd.settings import BusSettings, ServiceSettings
from avd.store.database import default_sqlite_url


class TradeEngineSettings(BaseModel):
    """The trade engine's configuration (the ``trade`` section of ``avd run``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: where "live" clients trade: the simulator of ``avd run``, or Binance
    live_exchange: Literal["sim", "binance"] = "sim"
    risk: RiskLimits = Field(default_factory=lambda: RiskLimits())
    #: the currency trading accounts are valued in (symbols must be quoted in it)
    account_currency: str = Field("USDT", pattern=r"^[A-Z0-9]{2,10}$")
    #: what a new paper account starts with (a client may reset it to another balance)
    paper_starting_balance: Decimal = Field(Decimal(10000), gt=0, max_digits=20, decimal_places=8)
    paper_taker_bps: Decimal = Decimal(10)
    paper_maker_bps: Decimal = Decimal(10)
    paper_slippage_bps: Decimal = Decimal(0)
    #: paper orders of signals fill at the first price this long after the
    #: signal's candle close (the backtest's ``fills.latency_ms``)
    paper_latency_ms: int = Field(0, ge=0)
    protective_orders: bool = True
    stop_limit_offset_bps: Decimal = Decimal(50)
    #: how long the list of enabled bots is cached
    bots_cache_s: float = Field(10.0, ge=0)
    #: a stream price older than this is fetched again before an entry
    price_max_age_s: float = Field(10.0, gt=0)
    #: how often fees the Client service could not be charged are tried again
    fee_retry_s: float = Field(5.0, gt=0)
    #: several ``avd serve trade`` workers on one PostgreSQL database, each
    #: client owned by one of them through a lease (off: this process owns all)
    workers: WorkerSettings = Field(default_factory=lambda: WorkerSettings())


class TradeSettings(ServiceSettings):
    """Settings of ``avd serve trade``: the TradeEngine service alone.

    It keeps its trades in its own database, reaches the Client service and
    the MarketContext service over the network (REST and the market feed,
    with the service token) and the exchange through python-binance.
    """

    model_config = SettingsConfigDict(
        env_prefix="AVD_TRADE_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=0, le=65535)
    data_dir: Path | None = Field(default=None, description="default: $AVD_DATA_DIR or ./avd-data")
    database_url: SecretStr | None = Field(
        default=None,
        description="sqlite:///... or postgresql://...; default: trade.db in the data dir",
    )
    #: market data and live orders: a running simulator (``avd sim``) or Binance
    exchange: Literal["sim", "binance"] = "sim"
    #: the running simulator python-binance talks to (with ``exchange: sim``)
    exchange_url: str = Field("http://127.0.0.1:8765", pattern=r"^https?://[^/\s]+/?$")
    #: the Client service (accounts, tokens, parameters, the prepaid fees)
    client_url: str = Field("http://127.0.0.1:8003", pattern=r"^https?://[^\s]+$")
    #: the MarketContext service's feed (klines, candles, signals); without
    #: it, the prices of the open positions are polled from the exchange
    market_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    #: default: ``AVD_SERVICE_TOKEN``, else ``service.token`` in the data dir
    service_token: SecretStr | None = None
    #: how often prices are polled for the open positions (no market feed)
    poll_prices_s: float = Field(default=2.0, gt=0)
    #: Binance's REST weight budget per minute, per IP: one limiter for the process
    rest_weight_per_minute: int = Field(default=6000, ge=1)
    engine: TradeEngineSettings = Field(default_factory=TradeEngineSettings)
    #: Redis Streams between the processes (``--bus redis://host:6379/0``): the
    #: market events come from the bus instead of the market feed's WebSocket,
    #: and the trade events go out on it (see :mod:`avd.runtime.bus`)
    bus: BusSettings | None = None

    def resolved_data_dir(self) -> Path:
        """The data folder (created 0700)."""
        return data_dir(self.data_dir)

    def resolved_database_url(self) -> str:
        """The configured database URL, or ``trade.db`` in the data folder."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return default_sqlite_url(self.resolved_data_dir(), "trade.db")

    def sim_address(self) -> str:
        """``host:port`` of the simulator of :attr:`exchange_url`."""
        return self.exchange_url.split("://", 1)[1].rstrip("/")
