"""The market service's scanner and levels over REST, when the services run apart.

``GET {market_url}/scanner?interval=&top=`` for ``scanner:N`` bots, cached
for a few seconds per interval (a burst of signals from one candle reads it
once), and ``GET {market_url}/symbols/{symbol}/levels?interval=`` for level
stops and targets.
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


class RemoteLevels:
    """Callable as a :data:`~avd.services.trade.level_plan.LevelsSource`."""

    def __init__(self, market_url: str, timeout_s: float = 5.0) -> None:
        self.base = market_url.rstrip("/")
        self.timeout_s = timeout_s

    async def __call__(self, symbol: str, interval: str) -> dict[str, object] | None:
        """The levels of ``symbol`` (None when the market cannot give them yet)."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            r = await http.get(
                f"{self.base}/symbols/{symbol}/levels", params={"interval": interval}
            )
        if r.status_code in (404, 409):  # not tracked, or too few candles
            return None
        r.raise_for_status()
        body: dict[str, object] = r.json()
        return body
