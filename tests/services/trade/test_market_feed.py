"""The trade service takes the market service's feed over the network, and survives its loss.

A real ``avd serve market`` (the offline simulator replaying the bundled
sample) serves ``/internal/feed`` with the service token; a
:class:`MarketFeed` republishes it on a hub, in order. The closed candles
must be the sample file's own; a wrong token is refused; a market service
that stops and comes back is reconnected to.
"""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from avd.domain.events import CandleEvaluated, Event, KlineReceived, SignalGenerated
from avd.history import read_candles, sample_dir
from avd.runtime.hub import EventHub
from avd.services.trade.market_feed import MarketFeed
from tests.polling import until
from tests.runtime.conftest import start_avd

TOKEN = "feed-test-service-token-0123456789"


def test_the_feed_brings_the_market_candles_in_order_and_reconnects(tmp_path: Path) -> None:
    market = start_avd(
        tmp_path / "market",
        "serve",
        "market",
        "--data-dir",
        str(tmp_path / "market" / "data"),
        "--symbols",
        "BTCUSDT",
        "--speed",
        "120",
        env={"AVD_SERVICE_TOKEN": TOKEN},
    )
    port = market.port
    sample = read_candles(sample_dir() / "BTCUSDT-1m.csv.gz")
    by_open = {int(t): i for i, t in enumerate(sample.open_time)}

    async def go() -> tuple[list[Event], dict[str, Any], dict[str, Any]]:
        hub = EventHub()
        got: list[Event] = []

        async def keep(e: Event) -> None:
            got.append(e)

        hub.subscribe("test", keep, KlineReceived, CandleEvaluated, SignalGenerated)
        hub.start()
        feed = MarketFeed(market.url, TOKEN, hub)
        wrong = MarketFeed(market.url, "not-the-token", EventHub())
        feed.start()
        wrong.start()
        try:
            await until(
                lambda: sum(isinstance(e, CandleEvaluated) for e in got) >= 3, "three candles"
            )
            refused = wrong.health()
            # the market service stops: the feed says so, then comes back with it
            market.stop(signal.SIGTERM)
            await until(lambda: not feed.connected.is_set(), "the feed to notice the drop")
            down = feed.health()
            again = start_avd(
                tmp_path / "market",
                "serve",
                "market",
                "--data-dir",
                str(tmp_path / "market" / "data"),
                "--symbols",
                "BTCUSDT",
                "--speed",
                "120",
                port=port,
                env={"AVD_SERVICE_TOKEN": TOKEN},
            )
            try:
                before = len(got)
                await until(
                    lambda: feed.connects == 2 and len(got) > before, "the feed back, with news"
                )
            finally:
                again.stop(signal.SIGTERM)
            return got, refused, down
        finally:
            await feed.stop()
            await wrong.stop()
            await hub.drain()
            await hub.stop()

    got, refused, down = asyncio.run(asyncio.wait_for(go(), 180))
    candles = [e.kline for e in got if isinstance(e, CandleEvaluated)]
    assert all(k.closed and k.symbol == "BTCUSDT" for k in candles)
    opens = [k.open_time for k in candles]
    assert opens == sorted(set(opens))  # in order, none twice (the replay resumed)
    for k in candles:  # the sample file's own candles
        i = by_open[k.open_time]
        assert (Decimal(repr(k.open)), Decimal(repr(k.close)), k.volume) == (
            Decimal(repr(float(sample.open[i]))),
            Decimal(repr(float(sample.close[i]))),
            float(sample.volume[i]),
        )
    assert any(isinstance(e, KlineReceived) and not e.closed for e in got)
    assert (refused["connects"], refused["refusals"] >= 1) == (0, True)
    assert not refused["connected"] and refused["last_error"].startswith("closed 4401")
    assert not down["connected"] and down["down_since"] is not None
