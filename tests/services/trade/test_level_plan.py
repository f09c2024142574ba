"""Stops under the nearest support, targets at the nearest resistance (bot parameters).

The market's levels come from a stand-in for ``GET /symbols/{s}/levels`` with
hand-chosen zones, so every expected price is worked out by hand; the route
itself is tested in tests/services/market/test_levels_view.py.
"""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

from avd.services.trade.plans import TradeOrder
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price

LEVELS = {"stop_at_support": True, "target_at_resistance": True, "level_buffer_percent": "0.1"}


def test_the_stop_sits_under_the_support_and_the_target_at_the_resistance(
    sim: Sim, tmp_path: Path
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        price = await sim_price(sim)
        asked: list[tuple[str, str]] = []

        async def levels(symbol: str, interval: str) -> dict[str, Any] | None:
            asked.append((symbol, interval))
            return {
                "supports": [
                    {"center": float(price - 250), "low": float(price - 300), "touches": 3}
                ],
                "resistances": [{"center": float(price + 600), "low": 0, "touches": 2}],
            }

        stack.engine.entries.levels = levels
        try:
            cid, _ = await stack.client("lv@example.com", stops=LEVELS)
            t = await stack.engine.execute(
                cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec("100"), interval="1m")
            )
            await stack.hub.drain()
            assert asked == [("BTCUSDT", "1m")]
            # by hand: 0.1 % under the support's low, down to the 0.01 tick
            stop = ((price - 300) * Dec("0.999")).quantize(Dec("0.01"), ROUND_DOWN)
            assert t.initial_stop == stop
            # all out at the resistance: R = (resistance - price) / (price - stop), 3 decimals
            r = (Dec(600) / (price - stop)).quantize(Dec("0.001"), ROUND_DOWN)
            import json

            assert json.loads(t.plan)["take_profits"] == [[str(r), "1"]]
        finally:
            await close_stack(stack)

    run(go(), timeout=90)


def test_without_levels_the_percent_stop_applies(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)

        async def unknown(symbol: str, interval: str) -> dict[str, Any] | None:
            return None  # too few candles

        async def down(symbol: str, interval: str) -> dict[str, Any] | None:
            raise ConnectionError("market service down")

        try:
            cid, _ = await stack.client("nolv@example.com", stops=LEVELS)
            for source in (unknown, down):
                stack.engine.entries.levels = source
                price = await sim_price(sim)
                t = await stack.engine.execute(
                    cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec("20"))
                )
                await stack.hub.drain()
                # the bot's 2 % stop (the default), measured from the price, up to a tick
                dist = (price * Dec("0.02") / Dec("0.01")).to_integral_value("ROUND_CEILING")
                assert t.entry_price is not None
                assert t.initial_stop == t.entry_price - dist * Dec("0.01")
        finally:
            await close_stack(stack)

    run(go(), timeout=90)
