"""Where the dashboards find the services."""

from __future__ import annotations

from dataclasses import dataclass


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
