"""A client's change reaches the trade engine at once: its cached list of bots is read again.

With ``bots_cache_s`` an hour, a bot enabled after the list was cached would
wait an hour for its first signal; the Client service's ``ClientChanged``
(on the hub in one process, over the bus apart) makes the next read fresh.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from avd.domain.parameters import BotParameters
from tests.polling import until
from tests.services.trade.conftest import Sim, close_stack, make_stack


def test_a_bot_enabled_after_the_bots_were_cached_is_seen_at_once(sim: Sim, tmp_path: Path) -> None:
    async def main() -> None:
        stack = await make_stack(tmp_path, sim, bots_cache_s=3600)
        try:
            stack.clients.ctx.bus = stack.hub  # as the platform wires it
            cid, _ = await stack.client("later@example.com", enabled=False, symbols=["BTCUSDT"])
            assert await stack.engine.signals.bots() == []  # cached for an hour
            await stack.clients.save_parameters(
                cid, BotParameters(enabled=True, symbols=["BTCUSDT"])
            )

            async def enabled() -> bool:
                return [c for c, _ in await stack.engine.signals.bots()] == [cid]

            await until(enabled, "the enabled bot in the trade engine's list")
            # and a block takes it out the same way
            async with stack.clients.db.read() as s:
                from avd.store import accounts

                admin = await accounts.get(s, stack.admin_id)
            assert admin is not None
            await stack.clients.set_blocked(admin, cid, True, "test", None)

            async def gone() -> bool:
                return await stack.engine.signals.bots() == []

            await until(gone, "the blocked bot out of the list")
        finally:
            await close_stack(stack)

    asyncio.run(main())
