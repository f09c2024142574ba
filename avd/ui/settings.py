"""Where the dashboards find the services, and ``avd serve ui``'s settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from avd.settings import BusSettings, ServiceSettings

URL = r"^https?://[^/\s]+/?$"


@dataclass(frozen=True)
class ServiceUrls:
    """Base URLs of the three services (the same one when they run together)."""

    client: str
    market: str
    trade: str

    @classmethod
    def together(cls, url: str) -> ServiceUrls:
        """Every service behind one URL (``avd run``)."""
        return cls(url, url, url)

    def ws(self, service: str) -> str:
        """The WebSocket base URL of ``service``."""
        base: str = getattr(self, service)
        return "ws" + base.removeprefix("http")


class UiSettings(ServiceSettings):
    """``avd serve ui``: the dashboards alone, in front of services running elsewhere."""

    model_config = SettingsConfigDict(
        env_prefix="AVD_UI_", extra="forbid", env_nested_delimiter="__", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535)
    #: holds the cookie-signing secret (default: $AVD_DATA_DIR or ./avd-data)
    data_dir: Path | None = None
    client_url: str = Field("http://127.0.0.1:8003", pattern=URL)
    market_url: str = Field("http://127.0.0.1:8080", pattern=URL)
    trade_url: str = Field("http://127.0.0.1:8002", pattern=URL)
    log_level: str = "INFO"
    #: the deployment's Redis (``--bus``): NiceGUI's storage lives there (see ``storage.py``)
    bus: BusSettings | None = None

    @property
    def folder(self) -> Path:
        """The data folder (created if missing)."""
        folder = self.data_dir or Path(os.environ.get("AVD_DATA_DIR", "avd-data"))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def urls(self) -> ServiceUrls:
        """The three services' base URLs (no trailing slash)."""
        return ServiceUrls(
            self.client_url.rstrip("/"), self.market_url.rstrip("/"), self.trade_url.rstrip("/")
        )
