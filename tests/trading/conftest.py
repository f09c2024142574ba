from __future__ import annotations

import pytest

from avd.trading import SymbolFilters, filters_from_exchange_info

# BTCUSDT as Binance's exchangeInfo gives it (strings, never floats).
BTCUSDT_INFO = {
    "symbol": "BTCUSDT",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00000000",
            "stepSize": "0.00001000",
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ],
}


@pytest.fixture
def btc() -> SymbolFilters:
    return filters_from_exchange_info(BTCUSDT_INFO)
