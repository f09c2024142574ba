"""The market service's scanner over REST, for ``scanner:N`` bots when the services run apart.

``GET {market_url}/scanner?interval=&top=`` (public), cached for a few
seconds per interval: a burst of signals from one candle reads it once.
"""

from __future__ import annotations

import time

import httpx

#: seconds a ranking is reused (the scanner itself changes once per closed candle)
CACHE_S = 5.0


class RemoteScanner:
    """Callable as a :data:`~avd.services.trade.signals.ScannerSource`."""

    def __init__(self, market_url: str, timeout_s: float = 5.0) -> None:
        self.url = market_url.rstrip("/") + "/scanner"
        self.timeout_s = timeout_s
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def __call__(self, interval: str, top: int) -> list[str]:
        """The ranked symbols of ``interval``, best first (at most ``top``)."""
        held = self._cache.get(interval)
        if held is not None and time.monotonic() - held[0] < CACHE_S:
            return held[1][:top]
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            r = await http.get(self.url, params={"interval": interval, "top": min(top, 1000)})
            r.raise_for_status()
            symbols = [str(row["symbol"]) for row in r.json()["rows"]]
        self._cache[interval] = (time.monotonic(), symbols)
        return symbols[:top]
