"""A symbol's base and quote assets come from the exchange's exchangeInfo, never from its name."""

from __future__ import annotations

import asyncio
from decimal import Decimal as Dec

from avd.exchange.binance import BinanceExchange
from avd.exchange.exchange import OrderRequest, SymbolInfo
from avd.exchange.paper import PaperExchange
from avd.exchange.rest_limiter import RestLimiter
from avd.trading import FillModel
from tests.services.trade.conftest import Sim, run

#: a pair whose quote no suffix list of ours ever held
BTCJPY = {
    "symbol": "BTCJPY",
    "status": "TRADING",
    "baseAsset": "BTC",
    "quoteAsset": "JPY",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "1", "maxPrice": "100000000", "tickSize": "1"},
        {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "1000", "stepSize": "0.0001"},
        {"filterType": "NOTIONAL", "minNotional": "500", "maxNotional": "900000000"},
    ],
}


def test_base_and_quote_are_read_from_the_symbols_exchange_info() -> None:
    info = SymbolInfo.from_exchange_info(BTCJPY)
    assert (info.symbol, info.base, info.quote) == ("BTCJPY", "BTC", "JPY")
    assert (info.filters.tick_size, info.filters.step_size) == (Dec(1), Dec("0.0001"))
    assert info.filters.min_notional == Dec(500)


def test_the_paper_exchange_moves_the_assets_the_exchange_lists() -> None:
    async def go() -> None:
        ex = PaperExchange(
            {"BTCJPY": SymbolInfo.from_exchange_info(BTCJPY)},
            {"JPY": Dec(10_000_000)},
            model=FillModel(),  # Binance's 0.1 % taker fee
        )
        await ex.on_price("BTCJPY", 1, Dec(9_000_000))
        r = await ex.place_order(OrderRequest("BTCJPY", "BUY", "MARKET", Dec("0.1"), "c-1"))
        assert (r.status, r.average_price) == ("FILLED", Dec(9_000_000))
        bal = await ex.balances()
        # 0.1 BTC for 900 000 JPY; the 0.0001 BTC commission taken in BTC
        assert (bal["JPY"].free, bal["BTC"].free) == (Dec(9_100_000), Dec("0.0999"))

    asyncio.run(go())


def test_the_simulator_serves_the_base_and_quote_assets(sim: Sim) -> None:
    async def go() -> list[SymbolInfo]:
        ex = BinanceExchange(sim.create, mode="sim", limiter=RestLimiter(), user_stream=False)
        try:
            return [await ex.symbol_info(s) for s in ("ETHUSDT", "SOLUSDT")]
        finally:
            await ex.close()

    got = run(go())
    assert [(i.base, i.quote) for i in got] == [("ETH", "USDT"), ("SOL", "USDT")]
