"""Exchange failures as refusals, and the account currency rule, from the exchange's own facts."""

from __future__ import annotations

from typing import Any

import pytest

from avd.domain.errors import InvalidRequest, Refusal, Unavailable, UpstreamFailed
from avd.exchange.exchange import ExchangeError, SymbolInfo
from avd.services.trade.settings import TradeEngineSettings
from avd.services.trade.venues import Venues, refusal_of
from avd.store.database import Database
from avd.trading import SymbolFilters
from avd.web.errors import status_of

FILTERS = SymbolFilters("1", "0.0001", min_qty="0.0001")

U, V, X = Unavailable, InvalidRequest, UpstreamFailed
CASES: list[tuple[str, dict[str, Any], type[Refusal], int, str]] = [
    # a timeout, a 5xx, a dropped connection: the order's fate is unknown
    ("no answer in time", {"status_unknown": True}, U, 503, "status_unknown"),
    ("error 503", {"code": -1001, "status": 503, "status_unknown": True}, U, 503, "status_unknown"),
    # the exchange turns requests away for now
    ("rate limited", {"code": -1003, "status": 429}, U, 503, "rate_limited"),
    ("banned", {"code": -1003, "status": 418}, U, 503, "rate_limited"),
    ("banned", {"status": 418}, U, 503, "ip_banned"),
    # the order breaks the exchange's rules
    ("insufficient balance", {"code": -2010, "status": 400}, V, 422, "insufficient_balance"),
    ("LOT_SIZE", {"code": -1013, "rule": "filter_lot_size"}, V, 422, "filter_lot_size"),
    ("invalid symbol", {"code": -1121}, V, 422, "invalid_symbol"),
    # anything else the exchange refused
    ("recvWindow", {"code": -1021, "status": 400}, X, 502, "timestamp_outside_recv_window"),
    ("Invalid API-key", {"code": -2015, "status": 401}, X, 502, "exchange_error"),
]


@pytest.mark.parametrize(("message", "kw", "kind", "status", "rule"), CASES)
def test_an_exchange_failure_is_the_refusal_its_kind_says(
    message: str, kw: dict[str, Any], kind: type[Refusal], status: int, rule: str
) -> None:
    refused = refusal_of(ExchangeError(message, **kw))
    assert type(refused) is kind and status_of(refused) == status
    assert (refused.rule, refused.detail) == (rule, message)
    if isinstance(refused, Unavailable):
        assert refused.service == "exchange"


def test_only_pairs_quoted_in_the_account_currency_are_traded() -> None:
    async def symbols(symbol: str) -> SymbolInfo:
        raise AssertionError(symbol)

    venues = Venues(Database("sqlite:///:memory:"), TradeEngineSettings(), symbols=symbols)
    venues.quoted_in_currency(SymbolInfo("BTCUSDT", "BTC", "USDT", FILTERS))
    # the exchange says JPY: no suffix list needed (the old one did not know JPY)
    with pytest.raises(InvalidRequest) as ei:
        venues.quoted_in_currency(SymbolInfo("BTCJPY", "BTC", "JPY", FILTERS))
    assert ei.value.rule == "quote_currency" and "quoted in JPY" in ei.value.detail
