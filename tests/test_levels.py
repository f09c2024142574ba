"""avd.levels against published formulas, finta, and hand-worked series.

Expected values are written out here (the published pivot formulas as numpy
expressions, hand-worked swings, grids, zones and confluence), never taken
from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avd import levels
from avd.history import Candles, read_candles

DAILY = ["BTCUSDT-1d", "ETHUSDT-1d", "SOLUSDT-1d", "XRPUSDT-1d", "BNBUSDT-1d"]


@pytest.fixture(scope="module", params=DAILY)
def daily(request: pytest.FixtureRequest, shared_data: Path) -> Candles:
    return read_candles(shared_data / f"{request.param}.csv.gz")


# -------------------------------------------------------------------- pivots --


def published(method: str, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """The standard pivot formulas, written out by hand."""
    r = h - lo
    if method in ("classic", "woodie"):
        p = (h + lo + c) / 3 if method == "classic" else (h + lo + 2 * c) / 4
        return {
            "P": p,
            "R1": 2 * p - lo,
            "S1": 2 * p - h,
            "R2": p + r,
            "S2": p - r,
            "R3": h + 2 * (p - lo),
            "S3": lo - 2 * (h - p),
        }
    p = (h + lo + c) / 3
    if method == "fibonacci":
        out = {"P": p}
        for k, f in zip((1, 2, 3), (0.382, 0.618, 1.0), strict=True):
            out[f"R{k}"] = p + f * r
            out[f"S{k}"] = p - f * r
        return out
    assert method == "camarilla"
    out = {"P": p}
    for k, d in zip((1, 2, 3, 4), (12, 6, 4, 2), strict=True):
        out[f"R{k}"] = c + r * 1.1 / d
        out[f"S{k}"] = c - r * 1.1 / d
    return out


@pytest.mark.parametrize("method", ["classic", "fibonacci", "camarilla", "woodie"])
def test_pivots_match_the_published_formulas_on_real_daily_candles(
    daily: Candles, method: str
) -> None:
    got = levels.pivots(daily.high, daily.low, daily.close, method)
    want = published(method, daily.high, daily.low, daily.close)
    assert sorted(got) == sorted(want)
    assert len(daily.close) > 1000
    for name, col in want.items():
        np.testing.assert_allclose(got[name], col, rtol=1e-12, atol=0, err_msg=name)


def test_pivots_of_one_hand_worked_day() -> None:
    # H 120, L 90, C 111: range 30, typical price 107
    h, lo, c = np.array([120.0]), np.array([90.0]), np.array([111.0])
    classic = {k: float(v[0]) for k, v in levels.pivots(h, lo, c).items()}
    assert classic == pytest.approx(
        {"P": 107, "R1": 124, "R2": 137, "R3": 154, "S1": 94, "S2": 77, "S3": 64}
    )
    cam = {k: float(v[0]) for k, v in levels.pivots(h, lo, c, "camarilla").items()}
    assert cam == pytest.approx(
        {
            "P": 107,
            "R1": 113.75,
            "R2": 116.5,
            "R3": 119.25,
            "R4": 127.5,
            "S1": 108.25,
            "S2": 105.5,
            "S3": 102.75,
            "S4": 94.5,
        }
    )
    woodie = {k: float(v[0]) for k, v in levels.pivots(h, lo, c, "woodie").items()}
    assert woodie == pytest.approx(
        {"P": 108, "R1": 126, "R2": 138, "R3": 156, "S1": 96, "S2": 78, "S3": 66}
    )


@pytest.mark.parametrize(
    ("method", "finta_name"), [("classic", "PIVOT"), ("fibonacci", "PIVOT_FIB")]
)
def test_pivots_match_finta_one_period_later(daily: Candles, method: str, finta_name: str) -> None:
    """finta's PIVOT / PIVOT_FIB, aligned to our convention.

    finta 1.3 shifts its input by one row (its row i is computed from candle
    i - 1: "pivot is calculated of the previous trading session"), so its row
    i + 1 is our row i, and its first row is NaN. It also returns S4/R4,
    which the published classic and Fibonacci pivots do not define (classic
    ``L - 3(H - P)`` / ``H + 3(P - L)``, Fibonacci ``P -/+ 1.382R``): they
    are not compared. Everything else is the published formula in finta too.
    """
    pd = pytest.importorskip("pandas")
    finta = pytest.importorskip("finta", reason="finta is in the dev extra (`make test`)")
    df = pd.DataFrame(
        {"open": daily.open, "high": daily.high, "low": daily.low, "close": daily.close}
    )
    theirs = getattr(finta.TA, finta_name)(df)
    ours = levels.pivots(daily.high, daily.low, daily.close, method)
    assert theirs.iloc[0].isna().all()
    names = {"P": "pivot", "R1": "r1", "R2": "r2", "R3": "r3", "S1": "s1", "S2": "s2", "S3": "s3"}
    assert set(ours) == set(names)
    for ours_name, finta_col in names.items():
        np.testing.assert_allclose(
            ours[ours_name][:-1],
            theirs[finta_col].to_numpy()[1:],
            rtol=1e-12,
            atol=0,
            err_msg=ours_name,
        )


# -------------------------------------------------------------------- swings --


def test_swings_of_a_hand_worked_series() -> None:
    #        0    1    2    3    4    5    6    7    8
    high = [1.0, 3.0, 2.0, 5.0, 4.0, 4.0, 6.0, 2.0, 1.0]
    low = [0.5, 2.0, 1.0, 4.0, 0.8, 3.0, 5.0, 1.5, 0.5]
    s = levels.swings(high, low)
    # 3: 5 > 3, 2 (left) and > 4, 4 (right); 6: 6 > 4, 4 and > 2, 1
    assert s["highs"].tolist() == [3, 6]
    assert s["highs"].dtype == np.int64
    # 4: 0.8 < 1.0, 4.0 and < 3.0, 5.0; 2's low 1.0 is not below 0.8
    assert s["lows"].tolist() == [4]


def test_ties_disqualify_a_swing() -> None:
    # a flat top of two equal highs, a flat bottom of two equal lows
    s = levels.swings([1, 2, 5, 5, 2, 1], [0, 1, 1, 1, 1, 0], left=1, right=1)
    assert s["highs"].tolist() == []
    assert s["lows"].tolist() == []
    # an equal high beyond the arms does not matter
    s = levels.swings([5, 1, 5, 1, 5], [5, 1, 5, 1, 5], left=1, right=1)
    assert (s["highs"].tolist(), s["lows"].tolist()) == ([2], [1, 3])


def test_edges_unequal_arms_and_short_input() -> None:
    high = [0.5, 1.0, 2.0, 3.0, 2.0, 1.0, 9.0]
    # 6 is the highest bar but has no right arm; 3 tops 3 left and 1 right
    assert levels.swings(high, high, left=3, right=1)["highs"].tolist() == [3]
    # with a right arm of 3, bar 6's 9.0 falls in bar 3's window
    assert levels.swings(high, high, left=1, right=3)["highs"].tolist() == []
    # fewer than left + right + 1 bars: nothing, and no error
    s = levels.swings([1, 3, 1, 0.5], [0.5, 2, 0.5, 0.2])
    assert (s["highs"].size, s["lows"].size) == (0, 0)
    assert levels.swings([], [])["highs"].size == 0
    # exactly left + right + 1 bars
    assert levels.swings([1, 3, 1], [1, 3, 1], left=1, right=1)["highs"].tolist() == [1]
    # an outside bar is both
    s = levels.swings([2, 5, 2], [1, 0, 1], left=1, right=1)
    assert (s["highs"].tolist(), s["lows"].tolist()) == ([1], [1])


# ----------------------------------------------------------------- fibonacci --


def test_fibonacci_grids_of_a_hand_worked_swing() -> None:
    up = levels.fibonacci(200.0, 100.0, "up")
    assert list(up) == [0.236, 0.382, 0.5, 0.618, 0.786, 1.272, 1.618]
    # retracements down from the high, extensions above it
    assert list(up.values()) == pytest.approx([176.4, 161.8, 150, 138.2, 121.4, 227.2, 261.8])
    down = levels.fibonacci(200.0, 100.0, trend="down")
    # retracements up from the low, extensions below it
    assert list(down.values()) == pytest.approx([123.6, 138.2, 150, 161.8, 178.6, 72.8, 38.2])
    assert levels.fibonacci(5, 5) == pytest.approx(dict.fromkeys(up, 5.0))


# ---------------------------------------------------- support / resistance --

# Swing highs (left = right = 1) at 1 (100), 5 (100.5), 9 (101.2); swing
# lows at 3 (90), 7 (90.6), 11 (95); every other bar is dominated.
ZIGZAG_HIGH = [95, 100, 97, 93, 96, 100.5, 97, 94, 96, 101.2, 98, 97, 99]
ZIGZAG_LOW = [92, 96, 93, 90, 92, 96, 93, 90.6, 92, 97, 96, 95, 96.5]


def zigzag() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, lo = np.array(ZIGZAG_HIGH, float), np.array(ZIGZAG_LOW, float)
    return h, lo, (h + lo) / 2


def test_zones_cluster_swings_within_one_percent() -> None:
    h, lo, c = zigzag()
    s = levels.swings(h, lo, 1, 1)
    assert (s["highs"].tolist(), s["lows"].tolist()) == ([1, 5, 9], [3, 7, 11])
    z = levels.support_resistance(h, lo, c, left=1, right=1, tolerance=1.0, mode="percent")
    # in confirmation order: 100 opens A; 90 opens B; 100.5 is 0.5 from A
    # (<= 1.005) and joins; 90.6 is 0.6 from B (<= 0.906); 101.2 is 0.95 from
    # A's 100.25 (<= 1.012); 95 is 4.7 from B: a new zone C
    assert z["center"] == pytest.approx([90.3, 95.0, 301.7 / 3])
    assert z["touches"].tolist() == [2, 1, 3]
    assert z["high_touches"].tolist() == [0, 0, 3]
    assert z["low_touches"].tolist() == [2, 1, 0]
    assert z["low"].tolist() == [90.0, 95.0, 100.0]
    assert z["high"].tolist() == [90.6, 95.0, 101.2]
    assert z["first_index"].tolist() == [3, 11, 1]
    assert z["last_index"].tolist() == [7, 11, 9]
    # the last close is 97.75
    assert z["support"].tolist() == [True, True, False]
    two = levels.support_resistance(
        h, lo, c, left=1, right=1, tolerance=1.0, mode="percent", min_touches=2
    )
    assert two["touches"].tolist() == [2, 3]
    # at 0.5 %, 100.5 still joins 100 (0.5 <= 0.5025), but 90.6 is 0.6 from 90
    # (> 0.453) and 101.2 is 0.95 from 100.25 (> 0.506): zones of their own
    half = levels.support_resistance(h, lo, c, left=1, right=1, tolerance=0.5, mode="percent")
    assert half["center"] == pytest.approx([90.0, 90.6, 95.0, 100.25, 101.2])


def test_zones_in_atr_tolerance() -> None:
    # Every bar spans 4 with its close in the middle and highs move by at
    # most 2: each true range is 4, so ATR(3) = 4 from bar 3 on.
    h = np.array([10, 12, 14, 12, 10, 8, 10, 12, 13.5, 12, 10, 8.5, 10, 11], float)
    lo, c = h - 4, h - 2
    z = levels.support_resistance(h, lo, c, left=1, right=1, tolerance=0.25, atr_period=3)
    # swings: highs 14 (2), 13.5 (8); lows 4 (5), 4.5 (11); 0.25 x 4 = 1 joins each pair
    assert z["center"].tolist() == [4.25, 13.75]
    assert z["touches"].tolist() == [2, 2]
    # ATR(5) is not ready when bar 3 confirms the high at 2: that swing is skipped
    z = levels.support_resistance(h, lo, c, left=1, right=1, tolerance=0.25, atr_period=5)
    assert z["center"].tolist() == [4.25, 13.5]
    assert z["touches"].tolist() == [2, 1]


def test_zones_on_real_candles_hold_their_invariants(btc_1h: Candles) -> None:
    h, lo, c = btc_1h.high[:5000], btc_1h.low[:5000], btc_1h.close[:5000]
    z = levels.support_resistance(h, lo, c, tolerance=0.3, mode="percent", min_touches=2)
    s = levels.swings(h, lo)
    swing_prices = set(h[s["highs"]]) | set(lo[s["lows"]])
    assert len(z["center"]) > 0
    assert np.all(np.diff(z["center"]) >= 0)
    assert np.all(z["touches"] >= 2)
    assert np.all(z["touches"] == z["high_touches"] + z["low_touches"])
    assert np.all((z["low"] <= z["center"]) & (z["center"] <= z["high"]))
    assert set(z["low"]) <= swing_prices and set(z["high"]) <= swing_prices
    assert np.all(z["support"] == (z["center"] < c[-1]))


def test_the_streaming_tracker_equals_the_batch_zones(btc_1h: Candles) -> None:
    h, lo, c = btc_1h.high[:3000], btc_1h.low[:3000], btc_1h.close[:3000]
    tracker = levels.LevelTracker(max_zones=20)
    confirmed: list[tuple[str, int, float]] = []
    for i in range(1000):
        confirmed += tracker.update(h[i], lo[i], c[i])
    n = tracker.update_many(h[1000:], lo[1000:], c[1000:])
    s = levels.swings(h, lo)
    assert len(confirmed) + n == len(s["highs"]) + len(s["lows"])
    assert [i for kind, i, _ in confirmed if kind == "high"] == [i for i in s["highs"] if i < 998]
    batch = levels.support_resistance(h, lo, c, max_zones=20)
    streamed = tracker.zones()
    assert sorted(batch) == sorted(streamed)
    for k in batch:
        np.testing.assert_array_equal(streamed[k], batch[k], err_msg=k)
    assert tracker.bars == 3000
    assert tracker.last_swing_high == (int(s["highs"][-1]), float(h[s["highs"][-1]]))
    trend, grid = tracker.fibonacci() or ("", {})
    last_high, last_low = tracker.last_swing_high, tracker.last_swing_low
    assert last_high is not None and last_low is not None
    assert trend == ("up" if last_high[0] > last_low[0] else "down")
    assert grid == pytest.approx(levels.fibonacci(last_high[1], last_low[1], trend))


# ---------------------------------------------------------------- confluence --


def test_confluence_of_hand_worked_levels() -> None:
    zones = {"center": np.array([100.0, 110.0]), "touches": np.array([3, 2])}
    pivots = {"S1": 100.4, "P": 105.0, "R1": 120.0}
    fib = {0.618: 100.7, 0.5: 105.3}
    out = levels.confluence(zones=zones, pivots=pivots, fibonacci=fib, tolerance=1.0)
    # 1 % of 100: 100, 100.4, 100.7 meet; 105 starts again (1.05): 105, 105.3;
    # 110 and 120 stand alone (one kind)
    assert len(out) == 2
    best, second = out
    assert best["score"] == 15.0  # 3 kinds x (3 + 1 + 1)
    assert best["kinds"] == ["zone", "pivot", "fibonacci"]
    assert best["price"] == pytest.approx(301.1 / 3)
    assert (best["low"], best["high"]) == (100.0, 100.7)
    assert [m["label"] for m in best["levels"]] == ["zone (3 touches)", "pivot S1", "fib 0.618"]
    assert second["score"] == 4.0  # 2 kinds x (1 + 1)
    assert second["kinds"] == ["pivot", "fibonacci"]
    assert (second["low"], second["high"]) == (105.0, 105.3)
    # all three kinds required: only the first; one kind is enough: four clusters
    assert (
        len(levels.confluence(zones=zones, pivots=pivots, fibonacci=fib, min_kinds=3, tolerance=1))
        == 1
    )
    one = levels.confluence(zones=zones, pivots=pivots, fibonacci=fib, min_kinds=1, tolerance=1)
    assert [z["score"] for z in one] == [15.0, 4.0, 2.0, 1.0]
    # an absolute tolerance of 0.5 splits the first cluster at 100.7
    near = levels.confluence(
        zones=zones, pivots=pivots, fibonacci=fib, tolerance=0.5, mode="absolute"
    )
    assert [(z["low"], z["high"], z["score"]) for z in near] == [
        (100.0, 100.4, 8.0),
        (105.0, 105.3, 4.0),
    ]
    assert levels.confluence() == []


def test_confluence_on_real_candles_is_consistent(daily: Candles) -> None:
    h, lo, c = daily.high, daily.low, daily.close
    zones = levels.support_resistance(h[:-1], lo[:-1], c[:-1], tolerance=1.0, mode="percent")
    piv = levels.pivots(h[-2:-1], lo[-2:-1], c[-2:-1])  # yesterday's candle
    s = levels.swings(h, lo)
    ih, il = int(s["highs"][-1]), int(s["lows"][-1])
    fib = levels.fibonacci(h[ih], lo[il], "up" if ih > il else "down")
    out = levels.confluence(zones=zones, pivots=piv, fibonacci=fib, tolerance=1.0)
    for z in out:
        kinds = {m["kind"] for m in z["levels"]}
        assert len(kinds) >= 2 and sorted(kinds) == sorted(z["kinds"])
        assert z["score"] == pytest.approx(len(kinds) * sum(m["strength"] for m in z["levels"]))
        assert z["high"] - z["low"] <= 0.01 * z["low"] + 1e-9
    assert [z["score"] for z in out] == sorted((z["score"] for z in out), reverse=True)


# -------------------------------------------------------------------- errors --

BAD = [
    (lambda: levels.pivots([1, 2], [1], [1, 2]), "different lengths"),
    (lambda: levels.pivots([1, np.nan], [1, 1], [1, 1]), "`high` is not finite at index 1"),
    (lambda: levels.pivots([1, 2], [1, 1], [1, np.inf]), "`close` is not finite"),
    (lambda: levels.pivots([1, 2], [1, 3], [1, 2]), "high < low at index 1"),
    (lambda: levels.pivots([1], [1], [1], "floor"), "unknown pivot method"),
    (lambda: levels.swings([1, 2], [1, 2], left=0), "`left`"),
    (lambda: levels.swings([1, 2], [1, 2], right=-1), "`right`"),
    (lambda: levels.swings([1, 2], [1, 2, 3]), "different lengths"),
    (lambda: levels.swings([1, np.nan], [1, 1]), "not finite"),
    (lambda: levels.swings([1, 2], [2, 1]), "high < low at index 0"),
    (lambda: levels.fibonacci(100, 200), "high_price < low_price"),
    (lambda: levels.fibonacci(np.nan, 1), "finite"),
    (lambda: levels.fibonacci(2, 1, "sideways"), "unknown trend"),
    (lambda: levels.support_resistance([1], [1], [1], mode="pips"), "unknown tolerance mode"),
    (lambda: levels.support_resistance([1], [1], [1], tolerance=-1), "`tolerance`"),
    (lambda: levels.support_resistance([1], [1], [1], left=0), "`left`"),
    (lambda: levels.support_resistance([1], [1], [np.nan]), "not finite"),
    (lambda: levels.support_resistance([1], [2], [1]), "high < low"),
    (lambda: levels.confluence(pivots={"P": 1.0}, mode="atr"), "unknown tolerance mode"),
    (lambda: levels.confluence(pivots={"P": 1.0}, min_kinds=0), "`min_kinds`"),
    (lambda: levels.confluence(pivots={"P": np.nan}), "non-finite price"),
    (lambda: levels.LevelTracker(right=0), "`right`"),
    (lambda: levels.LevelTracker().update(1, 2, 1.5), "high < low"),
    (lambda: levels.LevelTracker().update_many([1, 2], [1], [1, 2]), "different lengths"),
]


@pytest.mark.parametrize(("call", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_raises_a_clear_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as exc:
        call()  # type: ignore[operator]
    assert "avd._core" in type(exc.value).__module__


def test_non_numeric_input_raises_type_error() -> None:
    with pytest.raises(TypeError, match="`high`"):
        levels.pivots(["a"], [1.0], [1.0])
