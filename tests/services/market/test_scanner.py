"""The market scanner: hand-worked measures and ranking, and ``GET /scanner`` on ``avd run``."""

from __future__ import annotations

import asyncio
import math
import signal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from avd.services.market.scanner import ScannerSettings, measure, percentile_ranks, rank
from avd.services.trade.remote_scanner import RemoteScanner
from tests.platform import start_platform
from tests.polling import wait_until

MIN = 60_000


def test_percentile_ranks_by_hand() -> None:
    assert percentile_ranks([3.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    assert percentile_ranks([1.0, 1.0, 2.0]) == [0.25, 0.25, 1.0]  # ties share (0 + 1) / 2 / 2
    assert percentile_ranks([5.0]) == [1.0]


def test_measure_by_hand() -> None:
    # 1,500 one-minute candles: only the newest 1,440 are in the last 24 h
    n = 1500
    close = np.array([100.0 * (1.01 if i % 2 else 1.0) for i in range(n)])
    cols = {
        "open_time": np.arange(n, dtype=np.int64) * MIN,
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "quote_volume": np.full(n, 2.0),
    }
    got = measure(cols, MIN, window=4)
    assert got["quote_volume_24h"] == 2.0 * 1440
    assert got["price"] == close[-1]
    # the last 4 log returns alternate +ln(1.01), -ln(1.01): sample std by hand
    r = math.log(1.01)
    assert got["volatility"] == pytest.approx(math.sqrt(4 * r * r / 3) * 100)
    # ranges 2/101, 2/100, 2/101, 2/100 (the newest last): 1 - std/mean by hand
    ranges = [2 / 100, 2 / 101, 2 / 100, 2 / 101]
    mean = sum(ranges) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in ranges) / 3)
    assert got["stability"] == pytest.approx(1 - std / mean)
    assert got["age_days"] == pytest.approx(n / 1440)
    assert got["spread"] is None


def _row(symbol: str, score: float, qv: float, stability: float, price: float = 10.0) -> Any:
    return {
        "symbol": symbol,
        "interval": "1m",
        "score": score,
        "pattern": "trend",
        "direction": "long",
        "regime": None,
        "price": price,
        "quote_volume_24h": qv,
        "volatility": 1.0,
        "stability": stability,
        "age_days": 3.0,
        "spread": None,
    }


def test_rank_scores_context_by_quality() -> None:
    rows = [_row("A", 80, 1e6, 0.2), _row("B", 70, 5e6, 0.9), _row("C", 90, 1e5, 0.1)]
    ranked = rank([dict(r) for r in rows], ScannerSettings())
    # quality by hand: B (1 + 1) / 2 = 1, A (0.5 + 0.5) / 2 = 0.5, C 0
    # score = context x (0.5 + 0.5 quality): B 70, A 60, C 45
    assert [(r["symbol"], r["rank"], r["score"]) for r in ranked] == [
        ("B", 1, 70.0),
        ("A", 2, 60.0),
        ("C", 3, 45.0),
    ]
    top2 = rank([dict(r) for r in rows], ScannerSettings(volume_top=2))
    assert [r["symbol"] for r in top2] == ["B", "A"]
    cheap = rank([dict(r) for r in rows], ScannerSettings(min_stability=0.15))
    assert {r["symbol"] for r in cheap} == {"A", "B"}
    warming = rank([{**rows[0], "score": None}], ScannerSettings())
    assert warming == []


def test_the_route_ranks_the_replayed_symbols(tmp_path: Path) -> None:
    running = start_platform(tmp_path / "run")
    try:
        url = running.url

        def ready() -> Any:
            r = httpx.get(f"{url}/scanner", params={"interval": "1m", "top": 5})
            body = r.json()
            return body if r.status_code == 200 and body["count"] == 5 else None

        body = wait_until(ready, "five ranked streams", timeout=60)
        rows = body["rows"]
        assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
        assert {r["symbol"] for r in rows} == {
            "BTCUSDT",
            "ETHUSDT",
            "SOLUSDT",
            "BNBUSDT",
            "XRPUSDT",
        }
        scores = [r["score"] for r in rows]
        assert scores == sorted(scores, reverse=True)
        for r in rows:
            assert r["score"] == pytest.approx(r["context_score"] * (0.5 + 0.5 * r["quality"]))
        top = httpx.get(f"{url}/scanner", params={"interval": "1m", "top": 2}).json()
        assert len(top["rows"]) == 2
        # what a scanner:N bot of `avd serve trade` reads: the same ranking
        remote = RemoteScanner(url)

        def same() -> bool:
            api = httpx.get(f"{url}/scanner", params={"interval": "1m", "top": 3}).json()
            mine = asyncio.run(remote("1m", 3))
            return mine == [r["symbol"] for r in api["rows"]] and len(mine) == 3

        wait_until(same, "RemoteScanner's top 3 equals GET /scanner's", timeout=30)
        assert httpx.get(f"{url}/scanner", params={"interval": "9q"}).status_code == 400
        assert httpx.get(f"{url}/scanner", params={"top": 0}).status_code == 400
    finally:
        running.stop(signal.SIGTERM)
