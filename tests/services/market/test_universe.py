"""The tracked symbols: universe selectors (``*USDT``) expanded from ``exchangeInfo``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from avd.domain.events import Event, KlineReceived
from avd.exchange.simulator import BackgroundSimulator
from avd.runtime.hub import EventHub
from avd.services.market.candle_history import MemoryCandleHistory
from avd.services.market.settings import CollectorSettings
from avd.services.market.universe import expand
from tests.polling import until
from tests.services.market.test_collector_integration import collector_for, sim  # noqa: F401


def info(symbol: str, quote: str, status: str = "TRADING", **extra: Any) -> dict[str, Any]:
    """An ``exchangeInfo`` symbol entry with the fields the selection reads."""
    return {"symbol": symbol, "quoteAsset": quote, "status": status, **extra}


EXCHANGE = {
    e["symbol"]: e
    for e in [
        info("ETHUSDT", "USDT", isSpotTradingAllowed=True),
        info("BTCUSDT", "USDT", isSpotTradingAllowed=True),
        info("LUNAUSDT", "USDT", status="BREAK"),  # halted: out
        info("MARGINUSDT", "USDT", isSpotTradingAllowed=False),  # margin only: out
        info("ETHBTC", "BTC"),
        info("USDTTRY", "TRY"),  # USDT as the base asset: not a USDT pair
        info("BTCFDUSD", "FDUSD"),
    ]
}


def test_a_selector_takes_the_trading_spot_pairs_of_its_quote_sorted() -> None:
    assert expand(["*USDT"], EXCHANGE) == ["BTCUSDT", "ETHUSDT"]
    assert expand(["*BTC"], EXCHANGE) == ["ETHBTC"]
    assert expand(["*EUR"], EXCHANGE) == []


def test_named_symbols_keep_their_order_and_each_symbol_comes_once() -> None:
    assert expand(["XRPETH", "ETHUSDT", "*USDT", "*FDUSD"], EXCHANGE) == [
        "XRPETH",
        "ETHUSDT",
        "BTCUSDT",
        "BTCFDUSD",
    ]


@pytest.mark.parametrize("bad", ["btcusdt", "*", "*usdt", "BTC-USDT", "**USDT"])
def test_settings_refuse_what_is_neither_a_symbol_nor_a_selector(bad: str) -> None:
    with pytest.raises(ValidationError, match="nor selectors"):
        CollectorSettings(symbols=[bad])


def test_the_collector_tracks_what_the_selector_selects_on_the_exchange(
    sim: BackgroundSimulator,  # noqa: F811
) -> None:
    """Against the simulator (BTCUSDT and ETHUSDT replayed) with the real python-binance client."""
    seen: set[str] = set()

    async def main() -> list[tuple[str, str]]:
        hub = EventHub()

        async def on(e: Event) -> None:
            if isinstance(e, KlineReceived) and e.closed and e.event_time:
                seen.add(e.symbol)

        hub.subscribe("closed", on, KlineReceived)
        hub.start()
        col = collector_for(sim, hub, MemoryCandleHistory(), symbols=["*USDT"])
        try:
            await col.start()
            await until(lambda: seen == {"BTCUSDT", "ETHUSDT"}, "both pairs streamed", timeout=30)
            return sorted(col.streams)
        finally:
            await col.stop()
            await hub.stop()

    assert asyncio.run(asyncio.wait_for(main(), 60)) == [("BTCUSDT", "1m"), ("ETHUSDT", "1m")]


def test_a_selector_that_selects_nothing_is_refused_at_start(
    sim: BackgroundSimulator,  # noqa: F811
) -> None:
    async def main() -> None:
        hub = EventHub()
        col = collector_for(sim, hub, MemoryCandleHistory(), symbols=["*BTC"])
        try:
            await col.start()
        finally:
            await col.stop()

    with pytest.raises(ValueError, match=r"\*BTC selects no trading pair"):
        asyncio.run(asyncio.wait_for(main(), 30))
