"""avd.indicators against TA-Lib and exact computations on real Binance candles.

Reference values come from the real TA-Lib (``talib`` 0.8, C library 0.8),
from exact per-window computations (numpy on centred windows) and from
pandas rolling windows, never from the code under test. Every indicator
equals TA-Lib 0.8 within 1e-9 of the series' scale; where TA-Lib and the
exact value disagree (the deviation's last digits, a window that held a
NaN), the exact value is the reference and the test says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import avd.indicators as ind
from avd._core import InvalidInputError, InvalidParameterError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Every candle file: 1m and 5m are contiguous; the 1h files have
# exchange-outage gaps, the unaligned February 2018 candles (BTC, BNB) and
# zero-volume bars; the 1d files span years. XRP has small prices (0.2 - 3
# USDT), BTC large ones (up to ~1e5) with moves of cents.
FILES = sorted(p.name.removesuffix(".csv.gz") for p in DATA.glob("*.csv.gz"))
# The relative tolerance against TA-Lib 0.8, on the scale of each series.
TALIB_RTOL = 1e-9
# The error allowed against the exact deviation, relative to the price scale:
# the level of float64 rounding of the price itself.
EXACT_RTOL = 1e-12
ONE_PER_INTERVAL = ["ETHUSDT-1m", "XRPUSDT-5m", "BTCUSDT-1h"]

Array = np.ndarray


@dataclass(frozen=True)
class Candles:
    high: Array
    low: Array
    close: Array
    volume: Array

    def head(self, n: int) -> Candles:
        return Candles(self.high[:n], self.low[:n], self.close[:n], self.volume[:n])


@cache
def candles(name: str) -> Candles:
    path = DATA / f"{name}.csv.gz"
    if not path.exists():
        raise FileNotFoundError(
            f"candle file {path} not found: shared/data must sit beside the repo"
        )
    df = pd.read_csv(path, usecols=["high", "low", "close", "volume"])
    cols = {k: df[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close", "volume")}
    return Candles(**cols)


def as_tuple(result: Array | tuple[Array, ...]) -> tuple[Array, ...]:
    return result if isinstance(result, tuple) else (result,)


def assert_close_to_reference(
    ours: Array, ref: Array, *, rtol: float = 1e-9, atol: float = 0.0
) -> None:
    assert ours.dtype == np.float64
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg="NaN at different bars")
    valid = ~np.isnan(ref)
    np.testing.assert_allclose(ours[valid], ref[valid], rtol=rtol, atol=atol)


def scale(*series: Array) -> float:
    """The scale of a series: its largest finite magnitude (1 if none)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in series]
    top = max((float(f.max()) for f in finite if f.size), default=0.0)
    return top if top > 0 else 1.0


def assert_close_on_scale(ours: Array, ref: Array, rel: float, of: Array | None = None) -> None:
    """Equal within ``rel`` times the scale of ``of`` (default: of ``ref``),
    NaN at the same bars, infinities equal."""
    assert_close_to_reference(ours, ref, rtol=0.0, atol=rel * scale(ref if of is None else of))


def exact_moments(x: Array, period: int) -> tuple[Array, Array]:
    """Mean and population standard deviation of every window, NaN warm-up.

    Corrected two-pass per window (numpy on centred windows): the mean, the
    deviations from it, and the residual mean of those deviations taken out,
    so the result is exact to float64 rounding of the deviation itself. A
    window holding a non-finite value gives NaN.
    """
    mean = np.full(len(x), np.nan)
    std = np.full(len(x), np.nan)
    if len(x) < period:
        return mean, std
    w = np.lib.stride_tricks.sliding_window_view(x, period)
    with np.errstate(invalid="ignore"):
        m = w.mean(axis=1)
        dev = w - m[:, None]
        residual = dev.mean(axis=1)
        var = (dev * dev).mean(axis=1) - residual * residual
    bad = ~np.isfinite(w).all(axis=1)
    m[bad] = np.nan
    var[bad] = np.nan
    mean[period - 1 :] = m + residual
    std[period - 1 :] = np.sqrt(np.maximum(var, 0.0))
    return mean, std


# -- TA-Lib equality -------------------------------------------------------

Fn = Callable[..., Any]


@dataclass(frozen=True)
class TalibCase:
    ours: Fn
    theirs: Fn
    params: Sequence[tuple[Any, ...]]


def _hlc(fn: Fn) -> Fn:
    return lambda d, *p: fn(d.high, d.low, d.close, *p)


TALIB_CASES: dict[str, TalibCase] = {
    "sma": TalibCase(
        lambda d, p: ind.sma(d.close, p), lambda d, p: talib.SMA(d.close, p), [(2,), (20,), (200,)]
    ),
    "ema": TalibCase(
        lambda d, p: ind.ema(d.close, p), lambda d, p: talib.EMA(d.close, p), [(2,), (12,), (100,)]
    ),
    "wma": TalibCase(
        lambda d, p: ind.wma(d.close, p), lambda d, p: talib.WMA(d.close, p), [(2,), (20,), (100,)]
    ),
    "rsi": TalibCase(
        lambda d, p: ind.rsi(d.close, p), lambda d, p: talib.RSI(d.close, p), [(2,), (14,), (50,)]
    ),
    "macd": TalibCase(
        lambda d, f, s, g: ind.macd(d.close, f, s, g),
        lambda d, f, s, g: talib.MACD(d.close, f, s, g),
        [(12, 26, 9), (3, 10, 16), (26, 12, 9), (5, 5, 2)],
    ),
    "atr": TalibCase(_hlc(ind.atr), _hlc(talib.ATR), [(1,), (14,), (50,)]),
    "bbands": TalibCase(
        lambda d, p, u, n: ind.bbands(d.close, p, u, n),
        lambda d, p, u, n: talib.BBANDS(d.close, p, u, n, 0),
        [(20, 2.0, 2.0), (5, 1.0, 1.0), (50, 2.5, 1.5), (2, 1.0, 3.0)],
    ),
    "stddev": TalibCase(
        lambda d, p, n: ind.stddev(d.close, p, n),
        lambda d, p, n: talib.STDDEV(d.close, p, n),
        [(2, 1.0), (5, 1.0), (20, 2.0), (100, 0.5)],
    ),
    "obv": TalibCase(
        lambda d: ind.obv(d.close, d.volume), lambda d: talib.OBV(d.close, d.volume), [()]
    ),
    "adx": TalibCase(_hlc(ind.adx), _hlc(talib.ADX), [(2,), (14,), (30,)]),
    "plus_di": TalibCase(_hlc(ind.plus_di), _hlc(talib.PLUS_DI), [(1,), (14,), (30,)]),
    "minus_di": TalibCase(_hlc(ind.minus_di), _hlc(talib.MINUS_DI), [(1,), (14,), (30,)]),
    "stoch": TalibCase(
        lambda d, k, s, g: ind.stoch(d.high, d.low, d.close, k, s, g),
        lambda d, k, s, g: talib.STOCH(d.high, d.low, d.close, k, s, 0, g, 0),
        # past the batch's strips of 2,048 windows too
        [(5, 3, 3), (14, 3, 3), (1, 1, 1), (21, 1, 5), (2049, 3, 2), (5, 2500, 3)],
    ),
    "roc": TalibCase(
        lambda d, p: ind.roc(d.close, p), lambda d, p: talib.ROC(d.close, p), [(1,), (10,), (60,)]
    ),
    "donchian": TalibCase(
        lambda d, p: ind.donchian(d.high, d.low, p),
        lambda d, p: (talib.MAX(d.high, p), talib.MIN(d.low, p)),
        [(2,), (20,), (55,)],
    ),
}

TALIB_PARAMS = [
    pytest.param(name, params, id=f"{name}{list(params)}")
    for name, case in TALIB_CASES.items()
    for params in case.params
]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), TALIB_PARAMS)
def test_matches_talib_on_real_candles(file: str, name: str, params: tuple[Any, ...]) -> None:
    data = candles(file)
    case = TALIB_CASES[name]
    ours = as_tuple(case.ours(data, *params))
    theirs = as_tuple(case.theirs(data, *params))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert_close_on_scale(o, t, TALIB_RTOL)


# -- the deviation against the exact value ----------------------------------

STD_PERIODS = [2, 5, 20, 100]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", STD_PERIODS)
def test_stddev_and_bbands_are_exact_on_real_candles(file: str, period: int) -> None:
    close = candles(file).close
    mean, std = exact_moments(close, period)
    # Within float64 rounding of the price: 1e-12 of the price scale.
    assert_close_on_scale(ind.stddev(close, period, 1.0), std, EXACT_RTOL, of=close)
    upper, middle, lower = ind.bbands(close, period, 2.0, 1.5)
    assert_close_on_scale(middle, mean, EXACT_RTOL, of=close)
    assert_close_on_scale(upper, mean + 2.0 * std, EXACT_RTOL, of=close)
    assert_close_on_scale(lower, mean - 1.5 * std, EXACT_RTOL, of=close)
    # The streaming form gives these same numbers bit for bit (see the
    # streaming tests); the volume z-score uses the same sums.


@pytest.mark.parametrize("period", [2, 3, 5])
def test_flat_windows_read_exactly_zero_where_talib_06_was_off(period: int) -> None:
    # BTCUSDT 1m closes (~7e4) have windows of equal closes: TA-Lib 0.6's
    # running sum of squares gave them a deviation of up to ~0.01, a 100 %
    # error; the exact value is 0, and so is ours.
    close = candles("BTCUSDT-1m").close
    _, std = exact_moments(close, period)
    flat = std == 0.0
    assert flat.sum() >= 5, "the file has flat windows"
    np.testing.assert_array_equal(ind.stddev(close, period, 1.0)[flat], 0.0)
    upper, middle, lower = ind.bbands(close, period, 2.0, 2.0)
    np.testing.assert_array_equal(upper[flat], middle[flat])
    np.testing.assert_array_equal(lower[flat], middle[flat])


@pytest.mark.parametrize("file", FILES)
def test_talib_08_deviation_is_close_to_exact_and_ours_is_exact(file: str) -> None:
    # TA-Lib 0.8 and the exact value disagree in the last digits (up to
    # ~1e-13 of the price here): the exact value is the reference, ours is
    # within float64 rounding of the price, TA-Lib 0.8 within 1e-9.
    close = candles(file).close
    _, std = exact_moments(close, 20)
    valid = ~np.isnan(std)
    ours = np.abs(ind.stddev(close, 20, 1.0)[valid] - std[valid]).max()
    theirs = np.abs(talib.STDDEV(close, 20, 1.0)[valid] - std[valid]).max()
    assert theirs <= TALIB_RTOL * scale(close)
    assert ours <= EXACT_RTOL * scale(close) / 10


def test_a_window_leaves_a_nan_behind_where_talib_08_stays_nan() -> None:
    # TA-Lib 0.8 keeps NaN after a NaN in the middle of the series until its
    # periodic re-centring; the exact deviation of a window without the NaN
    # is a number, and that is what we give as soon as the NaN has left.
    x = candles("ETHUSDT-1h").close[:200].copy()
    x[50] = np.nan
    mean, std = exact_moments(x, 10)
    assert_close_on_scale(ind.stddev(x, 10, 1.0), std, EXACT_RTOL, of=x)
    assert_close_on_scale(ind.bbands(x, 10, 2.0, 2.0)[1], mean, EXACT_RTOL, of=x)
    assert np.isnan(talib.STDDEV(x, 10, 1.0)[70]) and not np.isnan(std[70])


# -- SMA and the Donchian channel: exact ------------------------------------

SMA_PERIODS = [2, 20, 200]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", SMA_PERIODS)
def test_sma_is_exact_on_real_candles(file: str, period: int) -> None:
    # The running total restarts from a fresh sum every 1,024 bars (or
    # twice the period), so its rounding cannot drift: within float64
    # rounding of the price of the exact mean of every window.
    close = candles(file).close
    mean, _ = exact_moments(close, period)
    assert_close_on_scale(ind.sma(close, period), mean, EXACT_RTOL, of=close)


def test_sma_window_leaves_a_nan_behind_where_talib_08_stays_nan() -> None:
    # TA-Lib keeps a NaN in its running total for good; the exact mean of a
    # window without the NaN is a number, and that is ours once it has left.
    x = candles("ETHUSDT-1h").close[:3000].copy()
    x[50] = np.nan
    x[2000] = np.inf
    mean, _ = exact_moments(x, 10)
    ours = ind.sma(x, 10)
    assert_close_on_scale(ours[:2000], mean[:2000], EXACT_RTOL, of=x)
    assert np.isnan(ours[50:60]).all() and np.isfinite(ours[60:2000]).all()
    assert (ours[2000:2010] == np.inf).all() and np.isfinite(ours[2010:]).all()
    assert np.isnan(talib.SMA(x, 10)[60:]).all()


def _window_extremes(x: Array, period: int) -> tuple[Array, Array]:
    """The naive reference: every window's max and min by numpy."""
    high = np.full(len(x), np.nan)
    low = np.full(len(x), np.nan)
    if len(x) >= period:
        w = np.lib.stride_tricks.sliding_window_view(x, period)
        high[period - 1 :] = w.max(axis=1)
        low[period - 1 :] = w.min(axis=1)
    return high, low


@pytest.mark.parametrize("file", FILES)
def test_donchian_equals_talib_08_and_the_window_extremes_bit_for_bit(file: str) -> None:
    # Extremes are exact (one of the inputs): no tolerance, on every period
    # (1 is the bar itself; TA-Lib starts at 2), past the length included.
    data = candles(file)
    n = len(data.high)
    for period in [1, 2, 3, 4, 20, 55, 64, 65, 200, n, n + 1]:
        upper, lower = ind.donchian(data.high, data.low, period)
        np.testing.assert_array_equal(upper, _window_extremes(data.high, period)[0])
        np.testing.assert_array_equal(lower, _window_extremes(data.low, period)[1])
        if 2 <= period <= 100_000:
            np.testing.assert_array_equal(upper, talib.MAX(data.high, period))
            np.testing.assert_array_equal(lower, talib.MIN(data.low, period))


def _exact_stoch(data: Candles, fastk: int, slowk: int, slowd: int) -> tuple[Array, Array]:
    """Slow %K and %D from numpy's window extremes and exact window means
    (``math.fsum`` of each window), NaN warm-up."""
    hi, lo = _window_extremes(data.high, fastk)[0], _window_extremes(data.low, fastk)[1]
    diff = (hi - lo) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fast = np.where(diff == 0.0, 0.0, (data.close - lo) / diff)[fastk - 1 :]

    def means(x: Array, p: int) -> Array:
        return np.array([math.fsum(x[i : i + p]) / p for i in range(len(x) - p + 1)])

    k = means(fast, slowk)
    d = means(k, slowd)
    warm = fastk + slowk + slowd - 3
    out_k, out_d = np.full(len(data.close), np.nan), np.full(len(data.close), np.nan)
    out_k[warm:] = k[slowd - 1 :]
    out_d[warm:] = d
    return out_k, out_d


@pytest.mark.parametrize("file", FILES)
def test_stoch_is_talib_08_and_the_exact_means_on_real_candles(file: str) -> None:
    # The batch runs strips of 2,048 windows: periods inside one, across
    # them and longer than one. Against TA-Lib 0.8 and the exact means of
    # the window's fast %K (TA-Lib's running totals drift by float64
    # rounding of the 0-100 scale only).
    data = candles(file).head(12_000)
    for periods in [(5, 3, 3), (14, 3, 3), (1, 1, 1), (3, 1, 7), (2049, 3, 2), (5, 2100, 3)]:
        k, d = ind.stoch(data.high, data.low, data.close, *periods)
        tk, td = talib.STOCH(
            data.high, data.low, data.close, periods[0], periods[1], 0, periods[2], 0
        )
        ek, ed = _exact_stoch(data, *periods)
        for ours, theirs, exact in ((k, tk, ek), (d, td, ed)):
            assert_close_on_scale(ours, theirs, TALIB_RTOL, of=np.array([100.0]))
            assert_close_on_scale(ours, exact, EXACT_RTOL, of=np.array([100.0]))


_ZEROS = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf])


@settings(max_examples=300, deadline=None)
@given(
    high=hnp.arrays(np.float64, st.integers(1, 60), elements=_ZEROS),
    period=st.integers(2, 9),
)
def test_donchian_reads_signed_zeros_and_ties_as_talib_08(high: Array, period: int) -> None:
    # Which of +0.0 and -0.0 a window of tied zeros returns depends on
    # TA-Lib 0.8's blocks of `period` bars from the first bar: the sign bits
    # must be TA-Lib's, not only the values.
    low = high[::-1].copy()
    upper, lower = ind.donchian(high, low, period)
    for ours, theirs in ((upper, talib.MAX(high, period)), (lower, talib.MIN(low, period))):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def _with_leading_nans(data: Candles) -> Candles:
    def lead(a: Array, k: int) -> Array:
        out = a.copy()
        out[:k] = np.nan
        return out

    # Staggered so that multi-input functions must start at the last of them.
    return Candles(lead(data.high, 3), lead(data.low, 5), lead(data.close, 7), lead(data.volume, 9))


@pytest.mark.parametrize(("name", "params"), TALIB_PARAMS)
def test_leading_nans_match_talib(name: str, params: tuple[Any, ...]) -> None:
    data = _with_leading_nans(candles("ETHUSDT-1m").head(3000))
    case = TALIB_CASES[name]
    ours = as_tuple(case.ours(data, *params))
    if name == "donchian":
        # TA-Lib runs MAX and MIN separately; ours starts where both are valid.
        both = Candles(
            np.where(np.arange(3000) < 5, np.nan, data.high), data.low, data.close, data.volume
        )
        theirs = as_tuple(case.theirs(both, *params))
    else:
        theirs = as_tuple(case.theirs(data, *params))
    for o, t in zip(ours, theirs, strict=True):
        assert_close_on_scale(o, t, TALIB_RTOL)


# Arbitrary values, including NaN and +/-inf anywhere: TA-Lib's exact
# treatment of them (NaN never winning a comparison, infinities in running
# sums, ...) is part of the contract.
_VALUES = st.sampled_from([1.0, 2.0, 3.0, 2.5, 0.0, -1.0, 1e-9, np.nan, np.inf, -np.inf])


@st.composite
def _bars(draw: st.DrawFn, min_size: int = 1) -> Candles:
    n = draw(st.integers(min_size, 50))
    cols = [draw(hnp.arrays(np.float64, n, elements=_VALUES)) for _ in range(4)]
    return Candles(*cols)


@settings(max_examples=150, deadline=None)
@given(data=_bars(), period=st.integers(2, 8))
def test_matches_talib_on_arbitrary_values(data: Candles, period: int) -> None:
    c, hlc, cv = (data.close,), (data.high, data.low, data.close), (data.close, data.volume)
    checks = [
        (ind.sma(data.close, period), talib.SMA(data.close, period), c),
        (ind.ema(data.close, period), talib.EMA(data.close, period), c),
        (ind.wma(data.close, period), talib.WMA(data.close, period), c),
        (ind.rsi(data.close, period), talib.RSI(data.close, period), c),
        (ind.roc(data.close, period), talib.ROC(data.close, period), c),
        (ind.obv(data.close, data.volume), talib.OBV(data.close, data.volume), cv),
        (
            ind.atr(data.high, data.low, data.close, period),
            talib.ATR(data.high, data.low, data.close, period),
            hlc,
        ),
        (
            ind.adx(data.high, data.low, data.close, period),
            talib.ADX(data.high, data.low, data.close, period),
            hlc,
        ),
        (
            ind.plus_di(data.high, data.low, data.close, period),
            talib.PLUS_DI(data.high, data.low, data.close, period),
            hlc,
        ),
        (
            ind.minus_di(data.high, data.low, data.close, period),
            talib.MINUS_DI(data.high, data.low, data.close, period),
            hlc,
        ),
        *(
            (o, t, c)
            for o, t in zip(
                ind.macd(data.close, 2, period + 1, 3),
                talib.MACD(data.close, 2, period + 1, 3),
                strict=True,
            )
        ),
        *(
            (o, t, hlc)
            for o, t in zip(
                ind.stoch(data.high, data.low, data.close, period, 2, 3),
                talib.STOCH(data.high, data.low, data.close, period, 2, 0, 3, 0),
                strict=True,
            )
        ),
    ]
    valid = ~np.isnan(data.high) & ~np.isnan(data.low)
    start = int(np.argmax(valid)) if valid.any() else len(valid) - 1
    high, low = data.high.copy(), data.low.copy()
    high[:start] = np.nan
    low[:start] = np.nan
    upper, lower = ind.donchian(data.high, data.low, period)
    hl = (data.high, data.low)
    checks += [(upper, talib.MAX(high, period), hl), (lower, talib.MIN(low, period), hl)]
    for ours, theirs, inputs in checks:
        # From the first NaN or infinity past the warm-up start on, the
        # values have no exact reading, and TA-Lib 0.8 and ours read them
        # differently (0.8: RSI, +DI, ADX, STOCH read 0, MAX/MIN skip an
        # infinity and keep a NaN; ours: NaN, and extremes skip a NaN as TA-Lib
        # 0.6 did): compared up to there only, never crashing after it.
        stacked = np.vstack(inputs)
        complete = ~np.isnan(stacked).any(axis=0)
        begin = int(np.argmax(complete)) if complete.any() else len(complete) - 1
        bad = ~np.isfinite(stacked).all(axis=0)
        bad[:begin] = False
        keep = ~np.logical_or.accumulate(bad)
        # on the series' scale (issue 15): the larger of the output's and the
        # inputs'. Where a window cancels (WMA of 1, -1, 1e-9, -1, 1e-9, 2, -1),
        # the exact value is near 0 and TA-Lib's running totals and ours keep
        # different residues of the inputs' rounding (4e-18 apart on inputs of
        # 2, 1.7e-8 of the output's own 4.6e-10): not an error on the series.
        series = np.concatenate((theirs[keep], stacked[:, keep].ravel()))
        assert_close_on_scale(ours[keep], theirs[keep], TALIB_RTOL, of=series)
    # STDDEV and BBANDS against the exact deviation, which wins over TA-Lib
    # 0.8: it is a number again once a NaN or an infinity has left the window
    # (TA-Lib 0.8 stays NaN until it re-centres), and NaN while one is in it.
    first = int(np.argmax(~np.isnan(data.close))) if (~np.isnan(data.close)).any() else 0
    x = data.close.copy()
    x[:first] = np.nan
    mean, std = exact_moments(x, period)
    assert_close_on_scale(ind.stddev(data.close, period, 1.5), 1.5 * std, 1e-12, of=x)
    upper, middle, lower = ind.bbands(data.close, period, 2.0, 1.0)
    assert_close_on_scale(middle, mean, 1e-12, of=x)
    assert_close_on_scale(upper, mean + 2.0 * std, 1e-12, of=x)
    assert_close_on_scale(lower, mean - std, 1e-12, of=x)


# -- streaming equals batch ------------------------------------------------


@dataclass(frozen=True)
class StreamCase:
    make: Callable[[], Any]
    feed: Callable[[Any, int, Candles], Any]
    batch: Callable[[Candles], Any]


def _x(s: Any, i: int, d: Candles) -> Any:
    return s.update(d.close[i])


def _hl(s: Any, i: int, d: Candles) -> Any:
    return s.update(d.high[i], d.low[i])


def _hlc_bar(s: Any, i: int, d: Candles) -> Any:
    return s.update(d.high[i], d.low[i], d.close[i])


STREAM_CASES: dict[str, StreamCase] = {
    "Sma": StreamCase(lambda: ind.Sma(20), _x, lambda d: ind.sma(d.close, 20)),
    "Ema": StreamCase(lambda: ind.Ema(12), _x, lambda d: ind.ema(d.close, 12)),
    "Wma": StreamCase(lambda: ind.Wma(20), _x, lambda d: ind.wma(d.close, 20)),
    "Rsi": StreamCase(lambda: ind.Rsi(14), _x, lambda d: ind.rsi(d.close, 14)),
    "Macd": StreamCase(lambda: ind.Macd(12, 26, 9), _x, lambda d: ind.macd(d.close, 12, 26, 9)),
    "Atr": StreamCase(lambda: ind.Atr(14), _hlc_bar, lambda d: ind.atr(d.high, d.low, d.close, 14)),
    "BBands": StreamCase(
        lambda: ind.BBands(20, 2.0, 1.5), _x, lambda d: ind.bbands(d.close, 20, 2.0, 1.5)
    ),
    "StdDev": StreamCase(lambda: ind.StdDev(10, 2.0), _x, lambda d: ind.stddev(d.close, 10, 2.0)),
    "Donchian": StreamCase(
        lambda: ind.Donchian(20), _hl, lambda d: ind.donchian(d.high, d.low, 20)
    ),
    "Obv": StreamCase(
        ind.Obv,
        lambda s, i, d: s.update(d.close[i], d.volume[i]),
        lambda d: ind.obv(d.close, d.volume),
    ),
    "Vwap": StreamCase(
        lambda: ind.Vwap(20),
        lambda s, i, d: s.update(d.high[i], d.low[i], d.close[i], d.volume[i]),
        lambda d: ind.vwap(d.high, d.low, d.close, d.volume, 20),
    ),
    "Roc": StreamCase(lambda: ind.Roc(10), _x, lambda d: ind.roc(d.close, 10)),
    "Stoch": StreamCase(
        lambda: ind.Stoch(5, 3, 3), _hlc_bar, lambda d: ind.stoch(d.high, d.low, d.close, 5, 3, 3)
    ),
    "Adx": StreamCase(
        lambda: ind.Adx(14),
        _hlc_bar,
        lambda d: (
            ind.adx(d.high, d.low, d.close, 14),
            ind.plus_di(d.high, d.low, d.close, 14),
            ind.minus_di(d.high, d.low, d.close, 14),
        ),
    ),
    "ZScore": StreamCase(lambda: ind.ZScore(20), _x, lambda d: ind.zscore(d.close, 20)),
}


def _stream(case: StreamCase, data: Candles) -> Array:
    s = case.make()
    plain = Candles(*(a.tolist() for a in (data.high, data.low, data.close, data.volume)))
    return np.array([case.feed(s, i, plain) for i in range(len(plain.close))], dtype=np.float64)


def _batch(case: StreamCase, data: Candles) -> Array:
    cols = as_tuple(case.batch(data))
    return cols[0] if len(cols) == 1 else np.column_stack(cols)


@pytest.mark.parametrize("file", ONE_PER_INTERVAL)
@pytest.mark.parametrize("name", STREAM_CASES)
def test_streaming_equals_batch_bit_for_bit(file: str, name: str) -> None:
    data = candles(file)
    case = STREAM_CASES[name]
    streamed, batch = _stream(case, data), _batch(case, data)
    np.testing.assert_array_equal(streamed, batch)


@settings(max_examples=60, deadline=None)
@given(data=_bars())
def test_streaming_equals_batch_on_arbitrary_values(data: Candles) -> None:
    # Skip the degenerate series where no bar is complete: TA-Lib's wrapper
    # then still evaluates the last bar, which a stream cannot know is last.
    complete = ~(
        np.isnan(data.high) | np.isnan(data.low) | np.isnan(data.close) | np.isnan(data.volume)
    )
    if not complete.any():
        return
    for case in STREAM_CASES.values():
        np.testing.assert_array_equal(_stream(case, data), _batch(case, data))


@pytest.mark.parametrize("name", STREAM_CASES)
def test_streaming_lookback_is_the_warmup_of_the_batch(name: str) -> None:
    data = candles("BTCUSDT-1h").head(500)
    case = STREAM_CASES[name]
    s = case.make()
    first = _batch(case, data)
    first = first if first.ndim == 1 else first[:, 0]
    assert np.isnan(first[: s.lookback]).all()
    assert not np.isnan(first[s.lookback])
    for i in range(s.lookback + 1):
        assert not s.is_ready
        case.feed(s, i, data)
    assert s.is_ready
    last = case.feed(s, s.lookback + 1, data)
    assert s.value == last
    s.reset()
    assert not s.is_ready
    assert np.isnan(s.value).all()
    assert repr(s).startswith(name + "(")


def test_streaming_outputs_are_floats_or_tuples() -> None:
    assert isinstance(ind.Sma(2).update(1.0), float)
    assert ind.Macd().update(1.0) == pytest.approx((np.nan,) * 3, nan_ok=True)
    assert len(ind.BBands().update(1.0)) == 3
    assert len(ind.Stoch().update(2.0, 1.0, 1.5)) == 2
    assert len(ind.Donchian(3).update(2.0, 1.0)) == 2
    assert len(ind.Adx().update(2.0, 1.0, 1.5)) == 3
    adx = ind.Adx(3)
    out = [adx.update(10.0 + i, 9.0 + i, 9.5 + i) for i in range(6)]
    assert np.isnan(out[2][1]) and not np.isnan(out[3][1]), "+DI ready after `period` bars"
    assert np.isnan(out[4][0]) and not np.isnan(out[5][0]), "ADX ready after 2*period-1 bars"


# -- VWAP and z-score against pandas ---------------------------------------


def _vwap_reference(d: Candles, period: int) -> Array:
    typical = (d.high + d.low + d.close) / 3.0
    pv = pd.Series(typical * d.volume).rolling(period).sum()
    vol = pd.Series(d.volume).rolling(period).sum()
    ref = (pv / vol).to_numpy(copy=True)
    flat = (pd.Series((d.volume == 0).astype(float)).rolling(period).sum() == period).to_numpy()
    ref[flat] = typical[flat]
    return ref


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", [1, 2, 20, 390])
def test_vwap_matches_pandas_rolling(file: str, period: int) -> None:
    d = candles(file)
    assert_close_to_reference(
        ind.vwap(d.high, d.low, d.close, d.volume, period), _vwap_reference(d, period), rtol=1e-10
    )


def test_vwap_of_a_zero_volume_window_is_the_latest_typical_price() -> None:
    d = candles("BTCUSDT-1h")
    zero = np.flatnonzero(d.volume == 0)
    assert zero.size > 0, "the 1h files carry zero-volume candles"
    out = ind.vwap(d.high, d.low, d.close, d.volume, 1)
    typical = (d.high + d.low + d.close) / 3.0
    np.testing.assert_array_equal(out[zero], typical[zero])


def _zscore_pandas(x: Array, period: int) -> Array:
    s = pd.Series(x)
    mean = s.rolling(period).mean()
    std = s.rolling(period).std(ddof=0)
    z = ((s - mean) / std).to_numpy(copy=True)
    z[(std == 0).to_numpy()] = 0.0
    return z


def _zscore_two_pass(x: Array, period: int) -> Array:
    """Each window on its own: mean, then the mean squared deviation."""
    out = np.full(len(x), np.nan)
    if len(x) < period:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(x, period)
    mean = windows.mean(axis=1)
    std = np.sqrt(((windows - mean[:, None]) ** 2).mean(axis=1))
    # Exactly flat windows have no spread (their computed mean may round off).
    flat = windows.max(axis=1) == windows.min(axis=1)
    out[period - 1 :] = (x[period - 1 :] - mean) / np.where(flat, 1.0, std)
    out[period - 1 :][flat] = 0.0
    return out


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", [20, 200])
def test_zscore_matches_pandas_rolling(file: str, period: int) -> None:
    # pandas' own rolling std drifts (up to ~1e-6 here, ~1e-2 at period 2),
    # hence the absolute tolerance; z-scores are of order 1.
    x = candles(file).close
    assert_close_to_reference(ind.zscore(x, period), _zscore_pandas(x, period), rtol=0, atol=1e-5)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", [2, 3, 20, 200])
def test_zscore_matches_a_two_pass_computation_per_window(file: str, period: int) -> None:
    x = candles(file).close
    assert_close_to_reference(ind.zscore(x, period), _zscore_two_pass(x, period), rtol=0, atol=1e-7)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("period", [2, 3, 20, 200])
def test_volume_and_close_zscores_are_exact(file: str, period: int) -> None:
    # The engine's volume z-score, against the exact (corrected two-pass)
    # mean and deviation of each window: within 1e-10 (z is unitless). The
    # plain two-pass reference above is itself off by up to 3e-9 here.
    d = candles(file)
    for x in (d.volume, d.close):
        mean, std = exact_moments(x, period)
        windows = np.lib.stride_tricks.sliding_window_view(x, period)
        flat = np.zeros(len(x), dtype=bool)
        flat[period - 1 :] = windows.max(axis=1) == windows.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ref = (x - mean) / std
        ref[flat] = 0.0
        assert_close_to_reference(ind.zscore(x, period), ref, rtol=0.0, atol=1e-10)


def test_zscore_of_a_flat_window_is_zero() -> None:
    x = np.array([5.0, 1.0, 9.0, 2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(ind.zscore(x, 3)[-2:], [0.0, 0.0])


# -- input handling --------------------------------------------------------

X = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0, 9.0, 10.0, 9.5, 11.0])

ALL_FUNCTIONS: dict[str, Callable[[Array], Any]] = {
    "sma": lambda a: ind.sma(a, 3),
    "ema": lambda a: ind.ema(a, 3),
    "wma": lambda a: ind.wma(a, 3),
    "rsi": lambda a: ind.rsi(a, 3),
    "macd": lambda a: ind.macd(a, 2, 3, 2),
    "atr": lambda a: ind.atr(a + 1, a - 1, a, 3),
    "bbands": lambda a: ind.bbands(a, 3),
    "stddev": lambda a: ind.stddev(a, 3),
    "obv": lambda a: ind.obv(a, a),
    "adx": lambda a: ind.adx(a + 1, a - 1, a, 2),
    "plus_di": lambda a: ind.plus_di(a + 1, a - 1, a, 2),
    "minus_di": lambda a: ind.minus_di(a + 1, a - 1, a, 2),
    "stoch": lambda a: ind.stoch(a + 1, a - 1, a, 3, 2, 2),
    "roc": lambda a: ind.roc(a, 3),
    "donchian": lambda a: ind.donchian(a + 1, a - 1, 3),
    "vwap": lambda a: ind.vwap(a + 1, a - 1, a, a, 3),
    "zscore": lambda a: ind.zscore(a, 3),
}


def test_none_in_a_list_is_a_missing_value() -> None:
    np.testing.assert_array_equal(ind.sma([1, None, 3, 4, 5], 2), ind.sma([1, np.nan, 3, 4, 5], 2))


def test_lists_and_integer_arrays_work() -> None:
    np.testing.assert_array_equal(ind.sma(X.tolist(), 3), ind.sma(X, 3))
    np.testing.assert_array_equal(ind.sma(tuple(X.tolist()), 3), ind.sma(X, 3))
    np.testing.assert_array_equal(ind.sma(np.arange(10), 3), ind.sma(np.arange(10.0), 3))
    np.testing.assert_array_equal(ind.sma(pd.Series(X), 3), ind.sma(X, 3))
    np.testing.assert_array_equal(
        ind.sma(X.astype(np.float32), 3), ind.sma(X.astype(np.float32).astype(np.float64), 3)
    )


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_non_contiguous_input_equals_contiguous(name: str) -> None:
    wide = np.repeat(X, 2) * 1.5
    strided = wide[::2]
    assert not strided.flags.c_contiguous
    for o, c in zip(
        as_tuple(ALL_FUNCTIONS[name](strided)),
        as_tuple(ALL_FUNCTIONS[name](strided.copy())),
        strict=True,
    ):
        np.testing.assert_array_equal(o, c)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_empty_input_gives_empty_output(name: str) -> None:
    for out in as_tuple(ALL_FUNCTIONS[name](np.array([]))):
        assert out.shape == (0,)
        assert out.dtype == np.float64


def test_different_lengths_raise_value_error() -> None:
    short = X[:-1]
    calls = [
        lambda: ind.atr(X, X, short, 3),
        lambda: ind.adx(X, short, X, 3),
        lambda: ind.plus_di(short, X, X, 3),
        lambda: ind.minus_di(X, X, short, 3),
        lambda: ind.stoch(X, X, short),
        lambda: ind.obv(X, short),
        lambda: ind.donchian(X, short, 3),
        lambda: ind.vwap(X, X, X, short, 3),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="different lengths") as info:
            call()
        assert isinstance(info.value, InvalidInputError)


@pytest.mark.parametrize("period", [0, -1, -(2**70)])
def test_period_below_range_raises_value_error(period: int) -> None:
    with pytest.raises(ValueError, match="period") as info:
        ind.sma(X, period)
    assert isinstance(info.value, InvalidParameterError)


@pytest.mark.parametrize("period", [0, -1])
def test_streaming_period_below_range_raises_value_error(period: int) -> None:
    with pytest.raises(InvalidParameterError, match="period"):
        ind.Sma(period)


def test_parameter_minimums_follow_talib() -> None:
    for call in [
        lambda: ind.rsi(X, 1),
        lambda: ind.stddev(X, 1),
        lambda: ind.bbands(X, 1),
        lambda: ind.adx(X, X, X, 1),
        lambda: ind.macd(X, 1, 26, 9),
        lambda: ind.macd(X, 12, 26, 1),
        lambda: ind.zscore(X, 1),
        lambda: ind.stoch(X, X, X, 5, 0, 3),
        lambda: ind.bbands(X, 5, float("nan")),
        lambda: ind.stddev(X, 5, float("inf")),
        lambda: ind.Rsi(1),
        lambda: ind.Macd(12, 26, 1),
        lambda: ind.BBands(5, 2.0, float("nan")),
    ]:
        with pytest.raises(InvalidParameterError):
            call()


def test_huge_period_means_no_output_not_an_error() -> None:
    assert np.isnan(ind.sma(X, 2**70)).all()
    assert np.isnan(ind.ema(X, 10**12)).all()


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        ["a", "b", "c"],
        np.array(["1", "2"]),
        [True, False],
        [1, "2", 3],
        [1, object(), 2],
        {"a": 1},
    ],
)
def test_non_numeric_input_raises_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="`x`"):
        ind.sma(bad, 2)


def test_type_error_names_the_argument() -> None:
    with pytest.raises(TypeError, match="`low`"):
        ind.atr(X, ["a"] * len(X), X)
    with pytest.raises(TypeError, match="`volume`"):
        ind.obv(X, "volume")


@pytest.mark.parametrize("period", [2.5, 3.0, "3", None, True])
def test_non_integer_period_raises_type_error(period: Any) -> None:
    with pytest.raises(TypeError, match="`period`"):
        ind.sma(X, period)


def test_numpy_integer_parameters_are_accepted() -> None:
    np.testing.assert_array_equal(ind.sma(X, np.int64(3)), ind.sma(X, 3))
    np.testing.assert_array_equal(ind.stddev(X, 3, np.float32(2.0)), ind.stddev(X, 3, 2.0))


def test_non_numeric_multiplier_raises_type_error() -> None:
    with pytest.raises(TypeError, match="`nbdev`"):
        ind.stddev(X, 3, "2")


@pytest.mark.parametrize("shape", [(3, 4), (12, 1), ()])
def test_not_one_dimensional_raises_value_error(shape: tuple[int, ...]) -> None:
    a = np.ones(shape)
    with pytest.raises(ValueError, match="one-dimensional"):
        ind.sma(a, 2)


def test_inputs_are_not_modified() -> None:
    a = X.copy()
    ind.bbands(a, 3)
    ind.stoch(a + 1, a - 1, a)
    np.testing.assert_array_equal(a, X)


# -- degenerate values never crash -----------------------------------------

_ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=100, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(0, 40), elements=_ANY_FLOAT),
    period=st.integers(2, 10),
)
def test_any_float_input_never_raises_and_keeps_the_length(x: Array, period: int) -> None:
    h, lo = x + 1.0, x - 1.0
    calls = [
        lambda: ind.sma(x, period),
        lambda: ind.ema(x, period),
        lambda: ind.wma(x, period),
        lambda: ind.rsi(x, period),
        lambda: ind.macd(x, period, period + 3, period),
        lambda: ind.atr(h, lo, x, period),
        lambda: ind.bbands(x, period),
        lambda: ind.stddev(x, period),
        lambda: ind.obv(x, x),
        lambda: ind.adx(h, lo, x, period),
        lambda: ind.plus_di(h, lo, x, period),
        lambda: ind.minus_di(h, lo, x, period),
        lambda: ind.stoch(h, lo, x, period),
        lambda: ind.roc(x, period),
        lambda: ind.donchian(h, lo, period),
        lambda: ind.vwap(h, lo, x, np.abs(x), period),
        lambda: ind.zscore(x, period),
    ]
    for call in calls:
        for out in as_tuple(call()):
            assert out.shape == x.shape


@settings(max_examples=50, deadline=None)
@given(x=st.lists(_ANY_FLOAT, max_size=30), period=st.integers(1, 6))
def test_streaming_any_float_never_raises(x: list[float], period: int) -> None:
    makers = [
        ind.Sma(period),
        ind.Ema(period),
        ind.Wma(period),
        ind.Roc(period),
        ind.ZScore(period + 1),
        ind.Rsi(period + 1),
        ind.StdDev(period + 1),
        ind.BBands(period + 1),
        ind.Macd(2, period + 2, 2),
    ]
    for s in makers:
        for v in x:
            s.update(v)
        assert s.lookback >= 0
    for s2 in [ind.Atr(period), ind.Adx(period + 1), ind.Stoch(period, 2, 2)]:
        for v in x:
            s2.update(v + 1.0, v - 1.0, v)
    donchian, obv, vwap = ind.Donchian(period), ind.Obv(), ind.Vwap(period)
    for v in x:
        donchian.update(v, v)
        obv.update(v, v)
        vwap.update(v, v, v, v)


def test_constant_input_follows_talib() -> None:
    c = np.full(60, 42.5)
    h, lo = c + 0.5, c - 0.5
    np.testing.assert_array_equal(ind.stddev(c, 10)[9:], 0.0)
    np.testing.assert_array_equal(ind.rsi(c, 14), talib.RSI(c, 14))
    assert (ind.rsi(c, 14)[14:] == 0.0).all(), "TA-Lib 0.6 reads a flat RSI as 0"
    upper, middle, lower = ind.bbands(c, 20)
    np.testing.assert_array_equal(upper[19:], middle[19:])
    np.testing.assert_array_equal(lower[19:], middle[19:])
    np.testing.assert_array_equal(ind.stoch(c, c, c)[0], talib.STOCH(c, c, c)[0])
    np.testing.assert_array_equal(ind.stoch(h, lo, c)[0], talib.STOCH(h, lo, c)[0])
    np.testing.assert_array_equal(ind.adx(h, lo, c), talib.ADX(h, lo, c))
    np.testing.assert_array_equal(ind.plus_di(c, c, c), talib.PLUS_DI(c, c, c))
    np.testing.assert_array_equal(ind.atr(h, lo, c), talib.ATR(h, lo, c))
    np.testing.assert_array_equal(ind.roc(c), 0.0 * talib.ROC(c))
    np.testing.assert_array_equal(ind.zscore(c, 5)[4:], 0.0)
    np.testing.assert_array_equal(ind.macd(c)[0], talib.MACD(c)[0])


def test_streaming_classes_are_reexported_from_core() -> None:
    from avd import _core

    for name in STREAM_CASES:
        assert getattr(ind, name) is getattr(_core, name)
