"""Signed requests: API key, HMAC-SHA256 signature and the recvWindow check.

The signature is checked over the raw payload (query string + body, minus
the ``signature`` pair) and over its percent-decoded form, as Binance does.
Timestamps are checked against the wall clock, never the replay clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import unquote_plus

from .accounts import Account, Accounts
from .errors import BinanceError
from .numbers import parse_decimal

_KEY = re.compile(r"^[A-Za-z0-9]{1,64}$")
_SIG = re.compile(r"(^|&)signature=[^&]*")


def _strip_signature(payload: str) -> str:
    return _SIG.sub("", payload).lstrip("&")


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def account_for(accounts: Accounts, api_key: str | None) -> Account:
    """The account of the ``X-MBX-APIKEY`` header, or -2014 / -2015."""
    if not api_key:
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    if not _KEY.match(api_key):
        raise BinanceError(-2014, "API-key format invalid.", 401)
    acct = accounts.get(api_key)
    if acct is None:
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    return acct


def check_timing(params: dict[str, str], now: int) -> None:
    """-1021 unless ``timestamp`` lies inside ``recvWindow`` of ``now`` (wall-clock ms)."""
    raw_ts = params.get("timestamp", "")
    if not raw_ts:
        raise BinanceError(
            -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        )
    if not raw_ts.isdigit():
        raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'.")
    ts = int(raw_ts)
    rw_raw = params.get("recvWindow") or "5000"
    rw = parse_decimal(rw_raw)
    if rw is None:
        raise BinanceError(-1100, "Illegal characters found in parameter 'recvWindow'.")
    if rw > 60000:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    if not (ts < now + 1000 and now - ts <= rw):
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify(acct: Account, raw_query: str, raw_body: str, signature: str | None) -> None:
    """-1022 unless ``signature`` signs the raw or the percent-decoded payload."""
    if not signature:
        raise BinanceError(
            -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
        )
    payload = _strip_signature(raw_query) + _strip_signature(raw_body)
    given = signature.lower()
    for candidate in (payload, unquote_plus(payload)):
        if hmac.compare_digest(sign(acct.secret, candidate), given):
            return
    # python-binance may put parts in the query and the rest in the body with an '&'
    joined = "&".join(p for p in (_strip_signature(raw_query), _strip_signature(raw_body)) if p)
    for candidate in (joined, unquote_plus(joined)):
        if hmac.compare_digest(sign(acct.secret, candidate), given):
            return
    raise BinanceError(-1022, "Signature for this request is not valid.")
