"""Request weight per IP per wall-clock minute, 429 with Retry-After, and the 418 ban."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BinanceError

# (method, path) -> weight; depth and tickers depend on parameters (see weight()).
WEIGHTS = {
    "ping": 1,
    "time": 1,
    "exchangeInfo": 20,
    "klines": 2,
    "uiKlines": 2,
    "aggTrades": 4,
    "trades": 25,
    "historicalTrades": 25,
    "avgPrice": 2,
    "account": 20,
    "order": 1,
    "order/test": 1,
    "openOrders": 6,
    "allOrders": 20,
    "myTrades": 20,
    "userDataStream": 2,
}


def weight(method: str, path: str, params: dict[str, str]) -> int:
    """Binance's documented weight of one request."""
    if path == "depth":
        limit = int(params.get("limit") or 100)
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path == "ticker/24hr":
        return 2 if params.get("symbol") else 80
    if path in ("ticker/price", "ticker/bookTicker"):
        return 2 if params.get("symbol") else 4
    if path == "order" and method == "GET":
        return 4
    if path == "openOrders" and method == "GET" and not params.get("symbol"):
        return 80
    if path == "myTrades" and params.get("orderId"):
        return 5
    return WEIGHTS.get(path, 1)


@dataclass
class _Ip:
    minute: int = 0
    used: int = 0
    refused: int = 0
    banned_until: float = 0.0


class RateLimiter:
    """Weight accounting per client IP.

    ``clock`` (seconds since the epoch) decides the minute; tests pin it so a
    minute cannot roll over mid-test.
    """

    def __init__(
        self,
        limit: int,
        ban_after: int,
        ban_seconds: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.clock = clock
        self.ips: dict[str, _Ip] = {}

    def charge(self, ip: str, w: int) -> int:
        """Add ``w`` to the IP's minute; the weight used, or a 429/418 BinanceError."""
        now = self.clock()
        st = self.ips.setdefault(ip, _Ip())
        if st.banned_until > now:
            left = int(st.banned_until - now) + 1
            raise BinanceError(
                -1003,
                f"Way too much request weight used; IP banned until {int(st.banned_until * 1000)}.",
                418,
                {"Retry-After": str(left)},
            )
        minute = int(now // 60)
        if minute != st.minute:
            st.minute, st.used = minute, 0
        if st.used + w > self.limit:
            st.refused += 1
            if st.refused > self.ban_after:
                st.banned_until = now + self.ban_seconds
                st.refused = 0
                return self.charge(ip, w)
            retry = int((minute + 1) * 60 - now) + 1
            raise BinanceError(
                -1003,
                f"Too much request weight used; current limit is {self.limit} request weight "
                "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                "the API.",
                429,
                {"Retry-After": str(retry), "X-MBX-USED-WEIGHT-1M": str(st.used)},
            )
        st.used += w
        return st.used

    def used(self, ip: str) -> int:
        """Weight used this minute."""
        st = self.ips.get(ip)
        return 0 if st is None or st.minute != int(self.clock() // 60) else st.used
