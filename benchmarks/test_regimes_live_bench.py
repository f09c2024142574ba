"""Live regimes: what a closed candle costs the market service, beside the engine pipeline.

``RegimeBook.on_close`` (the realized volatility over the last returns, then
the Rust forward filter: O(K^2)) is timed one call per candle, as the
service makes it, over real BTCUSDT 1m closes; the engine pipeline
(``MarketEngine.on_klines``) on the same bars is the peer column (pipeline /
regimes). A refit (three seeds, 500 rows) runs in a worker thread and is
timed apart.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from avd.engine import MarketEngine
from avd.services.market.regimes import RegimeBook, RegimeSettings

from .conftest import RESULTS

BARS = 20_000


def test_regime_filter_per_candle_vs_the_pipeline(
    million: dict[str, np.ndarray], side_by_side: Any, benchmark: Any
) -> None:
    closes = million["close"][: BARS + 600].astype(np.float64)
    book = RegimeBook(RegimeSettings(refit_every=10_000))

    async def fitted() -> None:
        book.load(("BTCUSDT", "1m"), closes[:600])
        await asyncio.gather(*book._tasks)

    asyncio.run(fitted())
    later = closes[600:].tolist()
    bars = {k: v[600 : 600 + BARS] for k, v in million.items()}

    def ours() -> object:
        for c in later:
            book.on_close(("BTCUSDT", "1m"), c)
        return book

    def pipeline() -> object:
        return MarketEngine().on_klines("BTCUSDT", "1m", **bars)

    side_by_side("regimes filter per candle", ours, pipeline, "pipeline on_klines", BARS, repeat=3)
    if benchmark.disabled:
        return
    st = book.streams[("BTCUSDT", "1m")]
    window = np.fromiter(st.closes, float)
    t0 = time.perf_counter()
    st.fit(window)
    RESULTS["regimes"] = {"refit (3 seeds, 500 rows), ms": (time.perf_counter() - t0) * 1e3}
