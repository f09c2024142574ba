"""Checks made before a service starts on Binance, so a bad start fails fast.

Without them, an unreachable Binance or a missing symbol list surfaces
inside the server's startup, after the database and the services came up,
as a traceback (and python-binance's own connection attempt may wait much
longer than a person at a terminal should).
"""

from __future__ import annotations

import httpx

#: python-binance's REST base (``AsyncClient.API_URL`` for binance.com)
BINANCE_PING_URL = "https://api.binance.com/api/v3/ping"
#: how long a start waits for Binance to answer before giving up
BINANCE_TIMEOUT_S = 5.0


def check_binance_reachable(
    url: str = BINANCE_PING_URL, timeout_s: float = BINANCE_TIMEOUT_S
) -> None:
    """Ping Binance's REST API once.

    Raises
    ------
    ConnectionError
        If it does not answer ``200`` within ``timeout_s`` (no network, DNS
        failure, a firewall, a refusing proxy, a restricted location).
    """
    hint = "--exchange binance needs access to Binance; --exchange sim replays offline"
    try:
        r = httpx.get(url, timeout=timeout_s)
    except httpx.TimeoutException:
        raise ConnectionError(
            f"Binance did not answer within {timeout_s:g} s ({url}): {hint}"
        ) from None
    except httpx.HTTPError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConnectionError(f"cannot reach Binance ({url}: {reason}): {hint}") from None
    if r.status_code != 200:
        raise ConnectionError(f"Binance answered HTTP {r.status_code} to {url}: {hint}")
