"""``avd run`` makes one REST weight limiter and hands it to every exchange client."""

from __future__ import annotations

from pathlib import Path

from avd.runtime.platform import MarketSection, Platform, PlatformSettings
from avd.services.client.settings import ClientSettings

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}


def test_the_collector_and_the_trade_service_share_the_platforms_limiter(tmp_path: Path) -> None:
    settings = PlatformSettings(
        data_dir=tmp_path,
        exchange="binance",  # the collector is built without connecting anywhere
        market=MarketSection(symbols=["BTCUSDT"]),
        rest_weight_per_minute=1200,
        client=ClientSettings(database_url=f"sqlite:///{tmp_path / 'avd.db'}", argon2=CHEAP_ARGON2),
    )
    platform = Platform(settings)
    assert platform.trade is not None
    collector = platform._collector()
    assert platform.limiter.budget == 1200
    assert collector.limiter is platform.limiter
    assert platform.trade.limiter is platform.limiter
    assert platform.trade.market.limiter is platform.limiter
