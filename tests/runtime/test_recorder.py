"""A recorded session replays to the same contexts and signals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avd.domain.events import ContextScoreCalculated, Event, KlineReceived, SignalGenerated
from avd.history import read_candles, sample_dir
from avd.runtime.hub import EventHub
from avd.runtime.recorder import Recorder, read_recording, recorded_inputs
from avd.services.market.service import MarketContext


def sample_klines(n: int) -> list[KlineReceived]:
    c = read_candles(sample_dir() / "ETHUSDT-1m.csv.gz").tail(n)
    return [
        KlineReceived(
            symbol="ETHUSDT",
            interval="1m",
            open_time=int(c.open_time[i]),
            open=float(c.open[i]),
            high=float(c.high[i]),
            low=float(c.low[i]),
            close=float(c.close[i]),
            volume=float(c.volume[i]),
            closed=True,
        )
        for i in range(len(c))
    ]


async def run_pipeline(klines: list[Event], record: Path | None) -> list[Event]:
    hub = EventHub()
    MarketContext(hub)
    out: list[Event] = []

    async def collect(e: Event) -> None:
        out.append(e)

    hub.subscribe("out", collect, ContextScoreCalculated, SignalGenerated)
    rec = Recorder(hub, record) if record is not None else None
    hub.start()
    for k in klines:
        await hub.publish(k)
        await asyncio.sleep(0)
    for _ in range(3):  # the engine publishes while handling; drain until quiet
        await hub.drain()
        await asyncio.sleep(0)
    await hub.stop()
    if rec is not None:
        rec.close()
    return out


def test_replaying_a_recording_reproduces_contexts_and_signals(tmp_path: Path) -> None:
    live = asyncio.run(run_pipeline(list(sample_klines(1500)), tmp_path))
    assert any(isinstance(e, SignalGenerated) for e in live)
    recorded = list(read_recording(tmp_path))
    assert sum(isinstance(e, KlineReceived) for e in recorded) == 1500
    replay = asyncio.run(run_pipeline(list(recorded_inputs(tmp_path)), None))
    assert [e.to_dict() for e in replay] == [e.to_dict() for e in live]


def test_a_malformed_recording_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text('{"type": "KlineReceived"}\nnot json\n')
    with pytest.raises(ValueError, match=":1:"):
        list(read_recording(tmp_path))
