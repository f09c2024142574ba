"""Each batch indicator against TA-Lib on the same ~1,000,000 real bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import talib

from avd import indicators as ind

CASES: dict[
    str, tuple[Callable[[dict[str, np.ndarray]], Any], Callable[[dict[str, np.ndarray]], Any]]
] = {
    "sma": (lambda b: ind.sma(b["close"], 30), lambda b: talib.SMA(b["close"], 30)),
    "ema": (lambda b: ind.ema(b["close"], 30), lambda b: talib.EMA(b["close"], 30)),
    "wma": (lambda b: ind.wma(b["close"], 30), lambda b: talib.WMA(b["close"], 30)),
    "rsi": (lambda b: ind.rsi(b["close"], 14), lambda b: talib.RSI(b["close"], 14)),
    "macd": (lambda b: ind.macd(b["close"]), lambda b: talib.MACD(b["close"])),
    "atr": (
        lambda b: ind.atr(b["high"], b["low"], b["close"], 14),
        lambda b: talib.ATR(b["high"], b["low"], b["close"], 14),
    ),
    "bbands": (
        lambda b: ind.bbands(b["close"], 20),
        lambda b: talib.BBANDS(b["close"], 20, 2.0, 2.0),
    ),
    "stddev": (lambda b: ind.stddev(b["close"], 20), lambda b: talib.STDDEV(b["close"], 20, 1.0)),
    "obv": (
        lambda b: ind.obv(b["close"], b["volume"]),
        lambda b: talib.OBV(b["close"], b["volume"]),
    ),
    "adx": (
        lambda b: ind.adx(b["high"], b["low"], b["close"], 14),
        lambda b: talib.ADX(b["high"], b["low"], b["close"], 14),
    ),
    "plus_di": (
        lambda b: ind.plus_di(b["high"], b["low"], b["close"], 14),
        lambda b: talib.PLUS_DI(b["high"], b["low"], b["close"], 14),
    ),
    "minus_di": (
        lambda b: ind.minus_di(b["high"], b["low"], b["close"], 14),
        lambda b: talib.MINUS_DI(b["high"], b["low"], b["close"], 14),
    ),
    "stoch": (
        lambda b: ind.stoch(b["high"], b["low"], b["close"]),
        lambda b: talib.STOCH(b["high"], b["low"], b["close"]),
    ),
    "roc": (lambda b: ind.roc(b["close"], 10), lambda b: talib.ROC(b["close"], 10)),
    "donchian": (
        lambda b: ind.donchian(b["high"], b["low"], 20),
        lambda b: (talib.MAX(b["high"], 20), talib.MIN(b["low"], 20)),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_indicator_vs_talib(name: str, million: dict[str, np.ndarray], side_by_side: Any) -> None:
    ours, theirs = CASES[name]
    side_by_side(
        f"indicator {name}",
        lambda: ours(million),
        lambda: theirs(million),
        "TA-Lib",
        len(million["close"]),
    )
