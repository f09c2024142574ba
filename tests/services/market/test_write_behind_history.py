"""The write-behind candle history: appends return at once, reads see them."""

from __future__ import annotations

import asyncio

from avd.domain.events import KlineReceived
from avd.services.market.candle_history import MemoryCandleHistory, WriteBehindHistory
from tests.polling import until


def k(i: int, closed: bool = True) -> KlineReceived:
    return KlineReceived(
        symbol="BTCUSDT",
        interval="1m",
        open_time=i * 60_000,
        open=1.0,
        high=2.0,
        low=0.5,
        close=1.5,
        volume=3.0,
        closed=closed,
    )


def test_reads_see_pending_candles_and_stop_writes_everything() -> None:
    async def main() -> None:
        inner = MemoryCandleHistory()
        h = WriteBehindHistory(inner, max_batch=4)
        h.start()
        await h.append([k(i) for i in range(10)] + [k(10, closed=False)])
        tail = await h.tail("BTCUSDT", "1m", 100)  # flushes first
        assert tail is not None and tail.open_time.tolist() == [i * 60_000 for i in range(10)]
        assert h.batches == 3  # 4 + 4 + 2
        await h.append([k(11), k(12)])
        await h.stop()
        assert inner.open_times("BTCUSDT", "1m")[-2:] == [11 * 60_000, 12 * 60_000]

    asyncio.run(main())


def test_the_background_writer_stores_without_a_read() -> None:
    async def main() -> None:
        inner = MemoryCandleHistory()
        h = WriteBehindHistory(inner)
        h.start()
        await h.append([k(1), k(2)])
        await until(lambda: inner.open_times("BTCUSDT", "1m"), "the background write", timeout=10)
        assert inner.open_times("BTCUSDT", "1m") == [60_000, 120_000]
        await h.stop()

    asyncio.run(main())


class _SlowStore(MemoryCandleHistory):
    """A store whose first write takes until it is let go (a slow database)."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        self.let_go = asyncio.Event()

    async def append(self, klines: list[KlineReceived]) -> None:
        if not self.writing.is_set():
            self.writing.set()
            await self.let_go.wait()
        await super().append(klines)


def test_stop_while_a_batch_is_being_written_still_stores_it() -> None:
    # at shutdown the writer is cancelled; a batch it was writing must not be lost
    async def main() -> None:
        inner = _SlowStore()
        h = WriteBehindHistory(inner)
        h.start()
        await h.append([k(i) for i in range(5)])
        await asyncio.wait_for(inner.writing.wait(), 5)
        await h.stop()
        assert inner.open_times("BTCUSDT", "1m") == [i * 60_000 for i in range(5)]

    asyncio.run(main())
