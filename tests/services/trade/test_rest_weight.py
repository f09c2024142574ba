"""One REST weight budget per process: Binance counts request weight per IP.

Every exchange client of the trade service (each live client's account and
the market data access) goes through the one limiter the runtime hands it,
so the calls of two clients add up in one budget: with a budget of 10, two
``openOrders`` of weight 6 through two clients make the second wait for the
next minute (on the limiter's simulated clock), as Binance would have
answered it with a 429.
"""

from __future__ import annotations

from pathlib import Path

from avd.exchange.binance import BinanceExchange
from avd.exchange.rest_limiter import RestLimiter
from tests.exchange.test_rest_limiter import Clock
from tests.services.trade.conftest import Sim, close_stack, make_stack, run


def test_two_live_clients_and_the_market_data_share_one_weight_budget(
    sim: Sim, tmp_path: Path
) -> None:
    clock = Clock()
    limiter = RestLimiter(10, safety=1.0, clock=clock.now, sleep=clock.sleep)

    async def go() -> None:
        stack = await make_stack(tmp_path, sim, limiter=limiter)
        try:
            a, _ = await stack.client("w1@example.com", mode="live")
            b, _ = await stack.client("w2@example.com", mode="live")
            ea = await stack.engine.venues.exchange_for(a, "live")
            eb = await stack.engine.venues.exchange_for(b, "live")
            assert isinstance(ea, BinanceExchange) and isinstance(eb, BinanceExchange)
            assert ea is not eb
            assert ea.limiter is eb.limiter is stack.trade.market.limiter is limiter
            calls, weight = limiter.stats.calls, limiter.stats.weight_used
            await ea.open_orders("BTCUSDT")  # weight 6
            assert limiter.stats.waits_for_budget == 0
            await eb.open_orders("BTCUSDT")  # 6 more: past 10 this minute
            assert limiter.stats.waits_for_budget == 1
            assert clock.sleeps and clock.sleeps[-1] > 0  # until the next minute
            await stack.trade.market.price("BTCUSDT")  # weight 2, in the new minute
            assert limiter.stats.calls - calls == 3
            assert limiter.stats.weight_used - weight == 14
        finally:
            await close_stack(stack)

    run(go())
