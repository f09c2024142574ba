"""``GET /symbols/{symbol}/levels``: the view on hand-made candles, and the route on ``avd run``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from avd.services.market.levels import DAY_MS, levels_view, previous_day
from tests.platform import start_platform

HOUR = 3_600_000


def _two_days() -> dict[str, Any]:
    """48 hourly candles: day 0 oscillates between 100 and 110, day 1 between 104 and 112."""
    t0 = 20_000 * DAY_MS
    open_time = np.arange(48, dtype=np.int64) * HOUR + t0
    wave = np.array([0, 1, 2, 3, 2, 1] * 8, dtype=np.float64)
    base = np.where(np.arange(48) < 24, 100.0, 104.0)
    high = base + 2.5 * wave + 2.5
    low = base + 2.5 * wave
    close = low + 1.0
    return {"open_time": open_time, "high": high, "low": low, "close": close}


def test_the_previous_day_is_aggregated_from_the_candles() -> None:
    cols = _two_days()
    day = previous_day(cols, HOUR)
    assert day is not None
    # by hand: day 0's highest high is 100 + 2.5*3 + 2.5, lowest low 100, last close 101 + 2.5*1
    assert (day["high"], day["low"], day["close"]) == (110.0, 100.0, 103.5)
    assert day["candles"] == 24 and day["complete"] is True
    # half a day is flagged incomplete
    half = {k: v[12:] for k, v in cols.items()}
    assert previous_day(half, HOUR)["complete"] is False  # type: ignore[index]
    # one day only: no previous day
    assert previous_day({k: v[24:] for k, v in cols.items()}, HOUR) is None


def test_the_view_prices_the_previous_days_pivots_and_sides_the_zones() -> None:
    view = levels_view(_two_days(), HOUR, "classic", 0.25)
    h, lo, c = 110.0, 100.0, 103.5
    p = (h + lo + c) / 3  # the published classic formulas
    expected = {
        "P": p,
        "R1": 2 * p - lo,
        "S1": 2 * p - h,
        "R2": p + (h - lo),
        "S2": p - (h - lo),
        "R3": h + 2 * (p - lo),
        "S3": lo - 2 * (h - p),
    }
    assert view["pivots"]["levels"] == pytest.approx(expected, rel=1e-12)
    last = view["close"]
    assert last == _two_days()["close"][-1]
    assert all(z["center"] < last for z in view["supports"])
    assert all(z["center"] >= last for z in view["resistances"])
    # nearest first on both sides
    assert [z["center"] for z in view["supports"]] == sorted(
        (z["center"] for z in view["supports"]), reverse=True
    )
    assert [z["center"] for z in view["resistances"]] == sorted(
        z["center"] for z in view["resistances"]
    )
    fib = view["fibonacci"]
    assert fib is not None
    hi, low = fib["swing_high"]["price"], fib["swing_low"]["price"]
    r = hi - low
    grid = fib["levels"]
    if fib["trend"] == "up":  # retracements measured down from the high
        assert grid["0.618"] == pytest.approx(hi - 0.618 * r)
        assert grid["1.618"] == pytest.approx(low + 1.618 * r)
    else:
        assert grid["0.618"] == pytest.approx(low + 0.618 * r)
        assert grid["1.618"] == pytest.approx(hi - 1.618 * r)
    scores = [z["score"] for z in view["confluence"]]
    assert scores == sorted(scores, reverse=True)


def test_the_route_on_a_running_platform(tmp_path: Path) -> None:
    running = start_platform(tmp_path / "run")
    try:
        url = running.url
        r = httpx.get(f"{url}/symbols/BTCUSDT/levels", params={"interval": "1m", "limit": 300})
        assert r.status_code == 200, r.text
        body = r.json()
        # read after, and wider: a superset of the candles the levels came from
        candles = httpx.get(
            f"{url}/symbols/BTCUSDT/candles", params={"interval": "1m", "limit": 400}
        ).json()["candles"]
        assert body["close"] in [c["close"] for c in candles[-20:]]
        lows = min(c["low"] for c in candles)
        highs = max(c["high"] for c in candles)
        for z in body["supports"] + body["resistances"]:
            assert lows - 1e-9 <= z["low"] <= z["high"] <= highs + 1e-9
        assert httpx.get(f"{url}/symbols/NOPEUSDT/levels").status_code == 404
        assert httpx.get(f"{url}/symbols/BTCUSDT/levels?interval=7x").status_code == 400
        assert httpx.get(f"{url}/symbols/BTCUSDT/levels?method=magic").status_code == 400
        assert httpx.get(f"{url}/symbols/BTCUSDT/levels?limit=10").status_code == 400
    finally:
        running.stop(signal.SIGTERM)
