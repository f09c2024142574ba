"""Batch indicator throughput, avd against TA-Lib on the same 1,000,000 bars.

Each indicator is one benchmark group with an ``avd`` and a ``talib`` entry,
so ``make bench`` prints them side by side. In the normal test run
(``--benchmark-disable``) every case executes once, as a smoke test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import talib

import avd.indicators as ind

N = 1_000_000


@dataclass(frozen=True)
class Bars:
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@pytest.fixture(scope="module")
def bars() -> Bars:
    # A Gaussian random walk: branchy indicators (DM, OBV, rescans) see
    # coin-toss moves, as on real prices.
    rng = np.random.default_rng(7)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, N))
    high = close + rng.random(N)
    low = close - rng.random(N)
    volume = rng.random(N) * 10.0
    return Bars(high, low, close, volume)


Case = tuple[Callable[[Bars], Any], Callable[[Bars], Any] | None]

CASES: dict[str, Case] = {
    "sma": (lambda b: ind.sma(b.close, 20), lambda b: talib.SMA(b.close, 20)),
    "ema": (lambda b: ind.ema(b.close, 20), lambda b: talib.EMA(b.close, 20)),
    "wma": (lambda b: ind.wma(b.close, 20), lambda b: talib.WMA(b.close, 20)),
    "rsi": (lambda b: ind.rsi(b.close, 14), lambda b: talib.RSI(b.close, 14)),
    "macd": (lambda b: ind.macd(b.close), lambda b: talib.MACD(b.close, 12, 26, 9)),
    "atr": (
        lambda b: ind.atr(b.high, b.low, b.close, 14),
        lambda b: talib.ATR(b.high, b.low, b.close, 14),
    ),
    "bbands": (lambda b: ind.bbands(b.close, 20), lambda b: talib.BBANDS(b.close, 20, 2, 2, 0)),
    "stddev": (lambda b: ind.stddev(b.close, 20), lambda b: talib.STDDEV(b.close, 20, 1)),
    "obv": (lambda b: ind.obv(b.close, b.volume), lambda b: talib.OBV(b.close, b.volume)),
    "adx": (
        lambda b: ind.adx(b.high, b.low, b.close, 14),
        lambda b: talib.ADX(b.high, b.low, b.close, 14),
    ),
    "plus_di": (
        lambda b: ind.plus_di(b.high, b.low, b.close, 14),
        lambda b: talib.PLUS_DI(b.high, b.low, b.close, 14),
    ),
    "minus_di": (
        lambda b: ind.minus_di(b.high, b.low, b.close, 14),
        lambda b: talib.MINUS_DI(b.high, b.low, b.close, 14),
    ),
    "stoch": (
        lambda b: ind.stoch(b.high, b.low, b.close),
        lambda b: talib.STOCH(b.high, b.low, b.close, 5, 3, 0, 3, 0),
    ),
    "roc": (lambda b: ind.roc(b.close, 10), lambda b: talib.ROC(b.close, 10)),
    "donchian": (
        lambda b: ind.donchian(b.high, b.low, 20),
        lambda b: (talib.MAX(b.high, 20), talib.MIN(b.low, 20)),
    ),
    "vwap": (lambda b: ind.vwap(b.high, b.low, b.close, b.volume, 20), None),
    "zscore": (lambda b: ind.zscore(b.close, 20), None),
}

PARAMS = [
    pytest.param(name, impl, id=f"{name}-{impl}")
    for name, (_, theirs) in CASES.items()
    for impl in (("avd", "talib") if theirs is not None else ("avd",))
]


@pytest.mark.parametrize(("name", "impl"), PARAMS)
def test_batch_indicator_speed(benchmark: Any, bars: Bars, name: str, impl: str) -> None:
    ours, theirs = CASES[name]
    fn = ours if impl == "avd" else theirs
    assert fn is not None
    benchmark.group = name
    benchmark(fn, bars)
