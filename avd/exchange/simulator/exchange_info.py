"""Symbol rules and the ``exchangeInfo`` document.

Tick size is the finest price step of the recorded candles (0.01 for BTCUSDT,
as on Binance); the lot step makes one step worth roughly 0.1 to 1 quote unit
(0.00001 BTC, 0.0001 ETH, 0.1 XRP, as on Binance). Filters are checked with
exact Decimal arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import filter_failure
from .numbers import ZERO, fmt_dec
from .series import Series

QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "EUR", "TRY", "BTC", "ETH", "BNB")
STABLE = {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "EUR"}
ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]


@dataclass(frozen=True)
class SymbolRules:
    """The trading rules of one symbol."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    min_price: Decimal
    max_price: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    max_orders: int = 200

    def check_price(self, price: Decimal) -> None:
        """PRICE_FILTER, or -1013."""
        if price < self.min_price or price > self.max_price or price % self.tick != ZERO:
            raise filter_failure("PRICE_FILTER")

    def check_qty(self, qty: Decimal, market: bool = False) -> None:
        """LOT_SIZE (and MARKET_LOT_SIZE for market orders), or -1013."""
        if qty < self.min_qty or qty > self.max_qty or qty % self.step != ZERO:
            raise filter_failure("LOT_SIZE")
        if market and qty > self.market_max_qty:
            raise filter_failure("MARKET_LOT_SIZE")

    def check_notional(self, notional: Decimal, market: bool = False) -> None:
        """NOTIONAL (the minimum applies to market orders too, the maximum does not)."""
        if notional < self.min_notional or (not market and notional > self.max_notional):
            raise filter_failure("NOTIONAL")

    def document(self) -> dict[str, Any]:
        """The symbol's entry of ``exchangeInfo``."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ORDER_TYPES,
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt_dec(self.min_price),
                    "maxPrice": fmt_dec(self.max_price),
                    "tickSize": fmt_dec(self.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt_dec(self.min_qty),
                    "maxQty": fmt_dec(self.max_qty),
                    "stepSize": fmt_dec(self.step),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0.00000000",
                    "maxQty": fmt_dec(self.market_max_qty),
                    "stepSize": "0.00000000",
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt_dec(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": fmt_dec(self.max_notional),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_orders},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }


def split_symbol(symbol: str) -> tuple[str, str]:
    """``BTCUSDT`` -> ``("BTC", "USDT")`` by the known quote assets.

    The platform's one guess of a symbol's assets, kept here because this is
    where no ``exchangeInfo`` exists yet: the simulator makes it from candle
    files, whose names carry only the symbol. Everywhere else the assets are
    the exchange's ``baseAsset`` and ``quoteAsset``
    (:class:`~avd.exchange.exchange.SymbolInfo`).
    """
    for q in QUOTES:
        if symbol.endswith(q) and len(symbol) > len(q):
            return symbol[: -len(q)], q
    return symbol[:-4], symbol[-4:]


def rules_for(series: Series) -> SymbolRules:
    """Plausible Binance rules for a replayed symbol."""
    base, quote = split_symbol(series.symbol)
    tick = Decimal(1).scaleb(-series.price_decimals)
    top = float(series.h.max()) / 1e8
    typical = float(series.c[-1]) / 1e8 or 1.0
    step_exp = max(min(math.floor(math.log10(1.0 / typical)), 0), -8) if typical > 0 else 0
    step = Decimal(1).scaleb(step_exp)
    max_price = Decimal(10) ** max(math.ceil(math.log10(max(top, 1e-8) * 100)), 0)
    stable = quote in STABLE
    return SymbolRules(
        symbol=series.symbol,
        base=base,
        quote=quote,
        tick=tick,
        min_price=tick,
        max_price=max(max_price, Decimal(1000)),
        step=step,
        min_qty=step,
        max_qty=step * 900_000_000,
        market_max_qty=step * 900_000_000 / 10,
        min_notional=Decimal(5) if stable else Decimal("0.0001"),
        max_notional=Decimal(9_000_000) if stable else Decimal(1000),
    )


def exchange_info(rules: list[SymbolRules], server_time: int, weight_limit: int) -> dict[str, Any]:
    """The ``exchangeInfo`` document for ``rules``."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ],
        "exchangeFilters": [],
        "symbols": [r.document() for r in rules],
    }
