"""The simulator's futures data long/short endpoints through python-binance.

Reference values are computed here with pandas from the bundled candle file,
following the formulas documented in ``futures_data.py`` (period closes,
their N-period returns, clamped long shares, 4-decimal strings).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from binance.exceptions import BinanceAPIException

from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.history import sample_dir
from tests.exchange.simulator.conftest import START_MS, Sim, _start, run

FOUR = Decimal("0.0001")
METHODS = (
    "futures_global_longshort_ratio",
    "futures_top_longshort_account_ratio",
    "futures_top_longshort_position_ratio",
    "futures_taker_longshort_ratio",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from _start(speed=1.0, paused=True)


def d4(x: float) -> str:
    return str(Decimal(repr(float(x))).quantize(FOUR, rounding=ROUND_HALF_EVEN))


def reference(symbol: str, period: str, kind: str) -> pd.DataFrame:
    """Rows by the documented formulas, from the CSV (no taker column: half the volume)."""
    df = pd.read_csv(Path(sample_dir()) / f"{symbol}-1m.csv.gz")
    df.index = pd.to_datetime(df["open_time"], unit="ms")
    df = df[df["open_time"] < START_MS]
    buy = df["taker_buy_base"].fillna(df["volume"] / 2)
    per = pd.DataFrame(
        {
            "close": df["close"].resample(period).last(),
            "volume": df["volume"].resample(period).sum(),
            "buy": buy.resample(period).sum(),
        }
    )
    per["timestamp"] = per.index.as_unit("ms").asi8
    share = per["buy"] / per["volume"]
    r12 = per["close"] / per["close"].shift(12) - 1
    r4 = per["close"] / per["close"].shift(4) - 1
    long = {
        "global": 0.5 + 5 * r12,
        "top_account": 0.5 + 3 * r4,
        "top_position": 0.5 + (share - 0.5) + 2 * r4,
    }[kind]
    per["long"] = long.clip(0.1, 0.9)
    return per


def test_the_four_endpoints_answer_binances_shapes(sim: Sim) -> None:
    async def go() -> dict[str, Any]:
        c = await sim.create()
        try:
            return {
                m: await getattr(c, m)(symbol="BTCUSDT", period="1h", limit=30) for m in METHODS
            }
        finally:
            await c.close_connection()

    got = run(go())
    ref = {k: reference("BTCUSDT", "1h", k) for k in ("global", "top_account", "top_position")}
    for method, kind in zip(METHODS[:3], ref, strict=False):
        rows = got[method]
        want = ref[kind].tail(30)
        assert len(rows) == len(want) == 24  # the bundled data starts a day before START
        assert [r["timestamp"] for r in rows] == want["timestamp"].tolist()
        assert rows[-1]["timestamp"] == START_MS - 3_600_000  # the last complete hour
        for r, lg in zip(rows, want["long"], strict=True):
            if pd.isna(lg):
                continue  # fewer than N periods of history in the reference
            assert set(r) == {
                "symbol",
                "longShortRatio",
                "longAccount",
                "shortAccount",
                "timestamp",
            }
            assert r["symbol"] == "BTCUSDT" and isinstance(r["timestamp"], int)
            la = Decimal(d4(lg))
            assert r["longAccount"] == str(la)
            assert Decimal(r["shortAccount"]) == 1 - la
            assert r["longShortRatio"] == str((la / (1 - la)).quantize(FOUR, ROUND_HALF_EVEN))
    taker = got["futures_taker_longshort_ratio"]
    want = reference("BTCUSDT", "1h", "global").tail(30)
    assert sum(not pd.isna(x) for x in ref["global"].tail(30)["long"]) >= 12
    assert [r["timestamp"] for r in taker] == want["timestamp"].tolist()
    for r, (_, w) in zip(taker, want.iterrows(), strict=True):
        assert set(r) == {"buySellRatio", "buyVol", "sellVol", "timestamp"}
        assert r["buyVol"] == d4(w["buy"]) and r["sellVol"] == d4(w["volume"] - w["buy"])
        assert r["buySellRatio"] == d4(w["buy"] / (w["volume"] - w["buy"]))


def test_limits_and_time_windows(sim: Sim) -> None:
    async def go() -> dict[str, Any]:
        c = await sim.create()
        f = c.futures_global_longshort_ratio
        try:
            return {
                "default": await f(symbol="BTCUSDT", period="5m"),
                "most": await f(symbol="BTCUSDT", period="5m", limit=500),
                "from": await f(
                    symbol="BTCUSDT", period="6h", startTime=START_MS - 43_200_000, limit=1
                ),
                "until": await f(
                    symbol="ETHUSDT", period="4h", endTime=START_MS - 43_200_000, limit=3
                ),
            }
        finally:
            await c.close_connection()

    got = run(go())
    assert len(got["default"]) == 30  # Binance's default limit
    most = got["most"]
    ts = [r["timestamp"] for r in most]
    # every complete 5m period of the bundled data (one day) before the replay clock
    assert ts == list(range(START_MS - 86_400_000, START_MS, 300_000))
    assert [r["timestamp"] for r in got["from"]] == [START_MS - 43_200_000]
    until = got["until"]
    assert [r["timestamp"] for r in until] == [
        START_MS - 43_200_000 - k * 14_400_000 for k in (2, 1, 0)
    ]
    assert {r["symbol"] for r in until} == {"ETHUSDT"}


def test_only_the_last_30_days_exist(shared_data: Path) -> None:
    """On 100 days of 5m candles, the oldest row is 30 days before the replay clock."""
    start = datetime(2022, 4, 1, tzinfo=UTC)
    now = int(start.timestamp() * 1000)
    cfg = SimConfig(data=shared_data / "BTCUSDT-5m.csv.gz", start=start, port=0, paused=True)
    with BackgroundSimulator(cfg) as bg:
        r = httpx.get(
            f"http://{bg.address}/futures/data/topLongShortAccountRatio",
            params={"symbol": "BTCUSDT", "period": "1d", "startTime": 0, "limit": 500},
        )
    rows = r.json()
    assert [x["timestamp"] for x in rows] == list(range(now - 30 * 86_400_000, now, 86_400_000))
    assert len(rows) == 30


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"symbol": "BTCUSDT", "period": "3m"}, -1130, "'period'"),
        ({"symbol": "BTCUSDT", "period": "1w"}, -1130, "'period'"),
        ({"symbol": "BTCUSDT", "period": "5m", "limit": 501}, -1130, "'limit'"),
        ({"symbol": "BTCUSDT", "period": "5m", "limit": 0}, -1130, "'limit'"),
        ({"symbol": "NOPEUSDT", "period": "5m"}, -1121, "Invalid symbol"),
        ({"symbol": "BTCUSDT"}, -1102, "'period'"),
        ({"period": "5m"}, -1102, "'symbol'"),
    ],
)
def test_bad_requests_answer_binances_errors(
    sim: Sim, params: dict[str, Any], code: int, text: str
) -> None:
    async def go() -> BinanceAPIException:
        c = await sim.create()
        try:
            with pytest.raises(BinanceAPIException) as info:
                await c.futures_taker_longshort_ratio(**params)
            return info.value
        finally:
            await c.close_connection()

    exc = asyncio.run(go())
    assert exc.status_code == 400 and exc.code == code and text in exc.message
