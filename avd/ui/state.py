"""What every page of the process shares: the API client, the service URLs, the market feed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from avd.ui.api import Api
from avd.ui.live import MarketFeed
from avd.ui.settings import ServiceUrls


@dataclass
class Shared:
    """The API client and the market feed, and how to find the services."""

    locate: Callable[[], ServiceUrls]
    api: Api
    market: MarketFeed

    @property
    def urls(self) -> ServiceUrls:
        """The services' URLs, as of now."""
        return self.locate()


_SHARED: list[Shared] = []


def bind(urls: ServiceUrls | Callable[[], ServiceUrls]) -> Shared:
    """Point the pages at ``urls`` (once per process, or per test).

    A function is asked at each call: ``avd run`` on port 0 knows its URL
    only once it listens.
    """
    locate = urls if callable(urls) else (lambda: urls)
    shared = Shared(locate, Api(locate), MarketFeed(locate))
    _SHARED[:] = [shared]
    return shared


def shared() -> Shared:
    """What :func:`bind` set."""
    return _SHARED[0]
