"""The settings of ``avd run``: :class:`PlatformSettings`.

Its ``market`` section is the market service's
:class:`~avd.services.market.settings.MarketSection`.

Shipped defaults, overridable by a JSON file and ``AVD_*`` environment
variables (nested keys with ``__``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from avd.exchange.simulator.config import SimConfig
from avd.services.client.settings import ClientSettings
from avd.services.market.settings import MarketSection
from avd.services.trade.settings import TradeEngineSettings
from avd.settings import BusSettings, ServiceSettings


class PlatformSettings(ServiceSettings):
    """Settings of ``avd run`` (every value has a default)."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path | None = Field(None, description="default: $AVD_DATA_DIR or ./avd-data")
    #: "sim": the local simulator replaying candle files (offline); "binance": real Binance
    exchange: Literal["sim", "binance"] = "sim"
    log_level: str = "INFO"
    #: write every event as JSON lines into this folder
    record: Path | None = None
    market: MarketSection = Field(default_factory=MarketSection)
    sim: SimConfig = Field(default_factory=lambda: SimConfig(speed=10.0))
    #: keep closed candles in the database (else in memory only)
    persist_candles: bool = True
    #: port of the in-process simulator; 0 = a free port
    sim_port: int = Field(0, ge=0, le=65535)
    #: a simulator already running (``avd sim``), e.g. ``http://127.0.0.1:8765``:
    #: python-binance talks to it and no in-process simulator starts (the
    #: symbols and the interval are the ones it replays, unless given)
    exchange_url: str | None = Field(None, pattern=r"^https?://[^/\s]+/?$")
    #: Binance's REST weight budget per minute, per IP: one limiter for the
    #: process, shared by the collector and every exchange client
    rest_weight_per_minute: int = Field(6000, ge=1)
    #: serve the dashboards (``/``, ``/admin``, ``/login``) on the API's port
    dashboards: bool = True
    client: ClientSettings = Field(default_factory=ClientSettings)
    #: the trade engine (paper trading by default)
    trade: TradeEngineSettings = Field(default_factory=TradeEngineSettings)
    #: Redis Streams between the processes (``--bus redis://host:6379/0``): the
    #: market events (and, with ``avd run``, the trade events) go out on it
    bus: BusSettings | None = None


def settings_summary(settings: PlatformSettings) -> str:
    """One line per key setting, for the startup banner."""
    d = json.loads(settings.model_dump_json(exclude={"client"}))
    return json.dumps({k: d[k] for k in ("host", "port", "exchange", "market")}, indent=None)
