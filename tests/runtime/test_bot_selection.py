"""What a bot trades inside ``avd run``: the scanner's top N, and the strategy it selects.

The platform runs in-process on the bundled candles (the simulator paused
after the warm-up, so the ranking holds still), and signals are published on
its hub as the market engine would.

* A bot with ``symbols: ["scanner:2"]`` gets a BUY signal for every tracked
  symbol; it must trade exactly the two symbols ``GET /scanner`` ranks first.
* With ``strategies: {"rules": "rsi_macd"}`` in the engine config, a bot
  without ``strategy`` trades only the primary strategy's signals, a bot with
  ``strategy: "rules"`` only the named one's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from avd.domain.events import SignalGenerated
from avd.domain.parameters import BotParameters
from avd.exchange.simulator import SimConfig
from avd.runtime.platform import MarketSection, Platform, PlatformSettings
from avd.services.client import schemas as cm
from avd.services.market.scanner import ranked
from avd.store import accounts
from tests.polling import until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SYMBOLS = {"BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}
BOT = BotParameters.model_validate(
    {
        "enabled": True,
        "mode": "paper",
        "symbols": ["scanner:2"],
        "risk_per_trade_percent": "0.5",
        "max_open_positions": 5,
        "stops": {"stop_loss_percent": "1"},
    }
)


@asynccontextmanager
async def running(home: Path, engine: dict[str, Any] | None = None) -> AsyncIterator[Platform]:
    """The platform of ``avd run``, started in-process with its replay paused."""
    settings = PlatformSettings(
        port=0,
        data_dir=home,
        market=MarketSection(warmup_bars=200, engine=engine or {}),
        sim=SimConfig(speed=0, paused=True),
    )
    platform = Platform(settings)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def bots(platform: Platform, **params: BotParameters) -> dict[str, int]:
    """One client per ``name=parameters``, with prepaid fees; their ids by name."""
    clients = platform.client
    assert clients is not None
    admin = await clients.create_user("admin@example.com", "correct horse battery", "admin")
    async with clients.db.read() as s:
        admin_user = await accounts.get(s, admin.id)
    assert admin_user is not None
    ids = {}
    for name, p in params.items():
        user = await clients.create_user(f"{name}@example.com", "correct horse battery", "client")
        fees = cm.Adjustment(amount=Decimal(100), reason="fees")
        await clients.adjust(admin_user, user.id, fees, None)
        await clients.save_parameters(user.id, p)
        ids[name] = user.id
    return ids


async def traded(platform: Platform, client_id: int) -> set[str]:
    """The symbols of the client's trades."""
    assert platform.trade is not None
    await platform.hub.drain()
    return {
        t.symbol for t in await platform.trade.engine.trades(client_id, None, limit=10, offset=0)
    }


def buy(
    symbol: str, price: float, strategy: str = "context", primary: bool = True
) -> SignalGenerated:
    """A BUY signal of the closed candle far ahead of the replay (never stale)."""
    return SignalGenerated(
        symbol=symbol,
        interval="1m",
        side="BUY",
        confidence=0.8,
        reason="test",
        generated_at=10**13 + 59_999,
        score=80.0,
        pattern="breakout",
        price=price,
        strategy=strategy,
        primary=primary,
    )


async def _scanner_bot(home: Path) -> tuple[list[str], set[str]]:
    async with running(home) as platform:
        ids = await bots(platform, scan=BOT)

        async def scanned() -> list[dict[str, Any]] | None:
            """What ``GET /scanner?interval=1m`` serves, once every symbol is ranked."""
            rows, _ = await ranked(platform.market, platform.history, "1m")
            return rows if {row["symbol"] for row in rows} == SYMBOLS else None

        await until(scanned, "the five tracked symbols ranked", timeout=60)
        rows = await scanned()
        assert rows is not None
        for row in reversed(rows):  # the lowest ranked first
            await platform.hub.publish(buy(row["symbol"], float(row["price"])))
        return [r["symbol"] for r in rows], await traded(platform, ids["scan"])


def test_a_scanner_bot_trades_the_platforms_top_two(tmp_path: Path) -> None:
    ranking, symbols = asyncio.run(asyncio.wait_for(_scanner_bot(tmp_path / "avd"), 120))
    assert symbols == set(ranking[:2])


async def _strategy_bots(home: Path) -> tuple[dict[str, Any], dict[str, set[str]]]:
    async with running(home, {"strategies": {"rules": "rsi_macd"}}) as platform:
        fixed = BOT.model_copy(update={"symbols": ["BTCUSDT", "ETHUSDT"]})
        ids = await bots(
            platform,
            primary=fixed,
            rules=fixed.model_copy(update={"strategy": "rules"}),
            named_primary=fixed.model_copy(update={"strategy": "context"}),
        )
        prices = {c["symbol"]: c["last_price"] for c in platform.market.contexts()}
        await platform.hub.publish(buy("BTCUSDT", prices["BTCUSDT"]))
        await platform.hub.publish(buy("ETHUSDT", prices["ETHUSDT"], "rules", primary=False))
        return platform.market.strategies(), {n: await traded(platform, i) for n, i in ids.items()}


def test_each_bot_trades_the_strategy_it_selects(tmp_path: Path) -> None:
    offered, symbols = asyncio.run(asyncio.wait_for(_strategy_bots(tmp_path / "avd"), 120))
    assert offered["primary"] == "context" and offered["names"] == ["context", "rules"]
    assert symbols == {"primary": {"BTCUSDT"}, "rules": {"ETHUSDT"}, "named_primary": {"BTCUSDT"}}


async def _scanner_refresh(home: Path) -> tuple[list[tuple[str, float, bool]], float, float, float]:
    async with running(home) as platform:
        timers = [(t.name, t.period_s, t.running) for t in platform.scanner_timers]
        before = time.time()
        await platform.refresh_scanner("1m")
        after = time.time()
        _, computed_at = await ranked(platform.market, platform.history, "1m")
        return timers, before, computed_at, after


def test_the_scanner_ranks_on_its_candle_aligned_timer(tmp_path: Path) -> None:
    """One timer per tracked interval, one candle long; what it ranks is what requests read."""
    timers, before, computed_at, after = asyncio.run(
        asyncio.wait_for(_scanner_refresh(tmp_path / "avd"), 120)
    )
    assert timers == [("scanner-1m", 60.0, True)]
    assert before <= computed_at <= after, "the request read the timer's rows, not fresh ones"
