"""A ``scanner:N`` bot inside ``avd run``: the platform's own scanner decides what it trades.

The platform runs in-process on the bundled candles (the simulator paused
after the warm-up, so the ranking holds still). A bot with
``symbols: ["scanner:2"]`` gets a BUY signal for every tracked symbol; it
must trade exactly the two symbols ``GET /scanner`` ranks first.
"""

from __future__ import annotations

import asyncio
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


async def _scanner_bot_trades(home: Path) -> tuple[list[str], set[str]]:
    settings = PlatformSettings(
        port=0,
        data_dir=home,
        market=MarketSection(warmup_bars=200),
        sim=SimConfig(speed=0, paused=True),
    )
    platform = Platform(settings)
    await platform.start()
    try:
        clients, trade = platform.client, platform.trade
        assert clients is not None and trade is not None
        admin = await clients.create_user("admin@example.com", "correct horse battery", "admin")
        async with clients.db.read() as s:
            admin_user = await accounts.get(s, admin.id)
        assert admin_user is not None
        user = await clients.create_user("scan@example.com", "correct horse battery", "client")
        fees = cm.Adjustment(amount=Decimal(100), reason="fees")
        await clients.adjust(admin_user, user.id, fees, None)
        await clients.save_parameters(user.id, BOT)

        async def scanned() -> list[dict[str, Any]] | None:
            """What ``GET /scanner?interval=1m`` serves, once every symbol is ranked."""
            rows, _ = await ranked(platform.market, platform.history, "1m")
            return rows if {row["symbol"] for row in rows} == SYMBOLS else None

        await until(scanned, "the five tracked symbols ranked", timeout=60)
        rows = await scanned()
        assert rows is not None
        # every tracked symbol signals a BUY at its last price, the lowest ranked first
        for row in reversed(rows):
            await platform.hub.publish(
                SignalGenerated(
                    symbol=row["symbol"],
                    interval="1m",
                    side="BUY",
                    confidence=0.8,
                    reason="test",
                    generated_at=10**13 + 59_999,
                    score=80.0,
                    pattern="breakout",
                    price=float(row["price"]),
                )
            )
        await platform.hub.drain()
        mine = await trade.engine.trades(user.id, None, limit=10, offset=0)
        return [r["symbol"] for r in rows], {t.symbol for t in mine}
    finally:
        await platform.stop()


def test_a_scanner_bot_trades_the_platforms_top_two(tmp_path: Path) -> None:
    ranking, traded = asyncio.run(asyncio.wait_for(_scanner_bot_trades(tmp_path / "avd"), 120))
    assert traded == set(ranking[:2])
