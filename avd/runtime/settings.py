"""The settings of ``avd run``: :class:`PlatformSettings` and its :class:`MarketSection`.

Shipped defaults, overridable by a JSON file and ``AVD_*`` environment
variables (nested keys with ``__``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from avd.exchange.simulator.config import SimConfig
from avd.services.client.settings import ClientSettings
from avd.services.trade.settings import TradeEngineSettings
from avd.settings import ServiceSettings


class MarketSection(BaseModel):
    """What the MarketContext service tracks and how."""

    model_config = {"extra": "forbid", "frozen": True}

    #: symbols to track; empty = every symbol the simulator replays
    symbols: list[str] = Field(default_factory=list)
    #: kline intervals; [] = the replayed interval (simulator) or 1m (Binance)
    intervals: list[str] = Field(default_factory=list)
    #: the engine configuration (see the README's "Engine configuration")
    engine: dict[str, Any] = Field(default_factory=dict)
    warmup_bars: int = Field(300, ge=1, le=5000)
    silence_timeout_s: float = Field(30.0, gt=0)
    max_streams_per_connection: int = Field(200, ge=1, le=1024)


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
    client: ClientSettings = Field(default_factory=ClientSettings)
    #: the trade engine (paper trading by default)
    trade: TradeEngineSettings = Field(default_factory=TradeEngineSettings)


def settings_summary(settings: PlatformSettings) -> str:
    """One line per key setting, for the startup banner."""
    d = json.loads(settings.model_dump_json(exclude={"client"}))
    return json.dumps({k: d[k] for k in ("host", "port", "exchange", "market")}, indent=None)
