"""The engine's strategies (issue 13, section 3): the RSI/MACD rules fire on the
bars a hand computation says, and the strategy configuration is validated.

The reference is computed here in plain Python from the textbook definitions,
not with the code under test: Wilder's RSI(14) (average gain and loss seeded
with the mean of the first 14 changes, then ``(avg * 13 + x) / 14``) and
MACD(12, 26, 9) (EMAs with ``k = 2 / (n + 1)``, each seeded with the mean of
its first ``n`` inputs; signal = EMA(9) of the MACD line; histogram = MACD -
signal). TA-Lib seeds the fast EMA differently (with the mean of the last 12
of the first 26 closes, so both EMAs start on bar 25); the test finds the
same crossings with either seeding, so the expected bars cannot depend on it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from avd.engine import EngineConfig, MarketEngine
from avd.exceptions import ConfigError
from avd.history import Candles

MINUTE = 60_000
T0 = 1_700_000_040_000
N = 125
#: every indicator but RSI and MACD kept short, so the engine scores from the
#: bar MACD(12, 26, 9) is ready on (index 33)
SHORT_WARMUP: dict[str, Any] = {
    "indicators": {
        "ema_fast": 3,
        "ema_slow": 5,
        "atr": 3,
        "bb_period": 3,
        "channel": 3,
        "volume_z": 3,
        "adx": 3,
        "obv_ema": 3,
        "squeeze_lookback": 3,
    }
}
FIRST_SCORED = 33


def closes() -> list[float]:
    """Up 0.6 % a bar, then down 1 % a bar from bar 60, then up 1.2 % from bar 85."""
    c = [100.0]
    for i in range(1, N):
        c.append(c[-1] * (1.006 if i < 60 else 0.99 if i < 85 else 1.012))
    return c


def candles() -> Candles:
    c = np.array(closes())
    o = np.concatenate([[c[0]], c[:-1]])
    nan = np.full(N, np.nan)
    return Candles(
        "BTCUSDT",
        "1m",
        T0 + MINUTE * np.arange(N, dtype=np.int64),
        o,
        np.maximum(o, c) * 1.001,
        np.minimum(o, c) * 0.999,
        c,
        1000.0 + 100.0 * (np.arange(N) % 3),
        nan,
        nan,
        nan,
    )


def wilder_rsi(c: list[float], n: int = 14) -> list[float]:
    out = [math.nan] * len(c)
    ch = [c[i] - c[i - 1] for i in range(1, len(c))]
    gain = sum(max(x, 0.0) for x in ch[:n]) / n
    loss = sum(max(-x, 0.0) for x in ch[:n]) / n
    out[n] = 100.0 * gain / (gain + loss)
    for i in range(n + 1, len(c)):
        x = ch[i - 1]
        gain = (gain * (n - 1) + max(x, 0.0)) / n
        loss = (loss * (n - 1) + max(-x, 0.0)) / n
        out[i] = 100.0 * gain / (gain + loss)
    return out


def ema(v: list[float], n: int, start: int) -> list[float]:
    """EMA(n) of ``v[start:]``, seeded with the mean of its first n values."""
    out = [math.nan] * len(v)
    k = 2.0 / (n + 1)
    e = sum(v[start : start + n]) / n
    out[start + n - 1] = e
    for i in range(start + n, len(v)):
        e = v[i] * k + e * (1.0 - k)
        out[i] = e
    return out


def macd_hist(c: list[float], fast_start: int = 0) -> list[float]:
    """The histogram; ``fast_start=14`` seeds the fast EMA as TA-Lib does."""
    line = [f - s for f, s in zip(ema(c, 12, fast_start), ema(c, 26, 0), strict=True)]
    signal = ema(line, 9, 25)  # the MACD line starts at bar 25
    return [m - s for m, s in zip(line, signal, strict=True)]


def crossings(r: list[float], h: list[float]) -> dict[str, list[int]]:
    """The bars where each rule fires, by the rules' published definitions."""
    out: dict[str, list[int]] = {k: [] for k in ("rsi+", "rsi-", "x+", "x-", "t+", "t-")}
    for i in range(2, N):
        if r[i - 1] <= 30 < r[i]:
            out["rsi+"].append(i)
        if r[i - 1] >= 70 > r[i]:
            out["rsi-"].append(i)
        if h[i - 1] <= 0 < h[i]:
            out["x+"].append(i)
        if h[i - 1] >= 0 > h[i]:
            out["x-"].append(i)
        s1, s0 = h[i - 1] - h[i - 2], h[i] - h[i - 1]
        if s1 <= 0 < s0:
            out["t+"].append(i)
        if s1 >= 0 > s0:
            out["t-"].append(i)
    return out


def events() -> dict[str, list[int]]:
    c = closes()
    r = wilder_rsi(c)
    textbook = crossings(r, macd_hist(c))
    assert crossings(r, macd_hist(c, fast_start=14)) == textbook
    return textbook


def run(config: dict[str, Any]) -> tuple[list[tuple[str, int]], list[Any]]:
    """(side, bar) of every signal, and the signals."""
    r = MarketEngine({**SHORT_WARMUP, **config}).on_candles(candles())
    assert int(np.flatnonzero(~np.isnan(r.score))[0]) == FIRST_SCORED
    bars = [((s.generated_at + 1 - T0) // MINUTE - 1, s) for s in r.signals]
    return [(s.side, int(b)) for b, s in bars], r.signals


def only(rule: str) -> dict[str, Any]:
    weights = {"rsi": 0.0, "macd_cross": 0.0, "hist_turn": 0.0, rule: 1.0}
    return {
        "strategy": "rsi_macd",
        "rsi_macd": {"weights": weights},
        "signals": {"cooldown_bars": 0},
    }


def test_the_hand_computed_series_has_one_crossing_of_each_kind_per_leg() -> None:
    ev = events()
    # MACD crosses down and its histogram turns down on the first bar down;
    # RSI leaves overbought 2 bars later
    assert ev["x-"] == [60] and ev["t-"] == [60, 101] and ev["rsi-"] == [62]
    # the histogram turns up mid-decline; RSI leaves oversold, then MACD crosses up
    assert ev["t+"] == [73] and ev["rsi+"] == [87] and ev["x+"] == [88]


@pytest.mark.parametrize(
    ("rule", "sell", "buy"),
    [("rsi", "rsi-", "rsi+"), ("macd_cross", "x-", "x+"), ("hist_turn", "t-", "t+")],
)
def test_each_rule_alone_fires_on_the_bar_of_its_crossing(rule: str, sell: str, buy: str) -> None:
    ev = events()
    got, signals = run(only(rule))
    want = sorted(
        [("SELL", b) for b in ev[sell]] + [("BUY", b) for b in ev[buy]], key=lambda x: x[1]
    )
    assert got == want
    assert all(s.strategy == "rsi_macd" and s.rules == [rule] and s.score == 100.0 for s in signals)


def test_rsi_leaving_oversold_and_overbought_is_explained_with_its_numbers() -> None:
    r = wilder_rsi(closes())
    _, signals = run(only("rsi"))
    sell, buy = signals
    assert sell.reason.startswith("rsi_macd short: score 100.0; ")
    assert (
        f"RSI left overbought: {r[61]:.2f} -> {r[62]:.2f} down through 70 (this bar)" in sell.reason
    )
    assert buy.reason.startswith("rsi_macd long: score 100.0; ")
    assert f"RSI left oversold: {r[86]:.2f} -> {r[87]:.2f} up through 30 (this bar)" in buy.reason
    # the context the signal was taken in is still told
    assert "; context: " in buy.reason


def test_default_rules_fire_once_rsi_and_macd_agree_within_the_window() -> None:
    """Defaults: weights rsi 0.4, macd_cross 0.4, hist_turn 0.2, a 5-bar window,
    entry at 70: both crossings of a side are needed, so the signal comes on
    the later of the two; the histogram's turn adds its 0.2 while it counts."""
    ev = events()
    got, signals = run({"strategy": "rsi_macd"})
    sell_bar = max(ev["rsi-"][0], ev["x-"][0])
    buy_bar = max(ev["rsi+"][0], ev["x+"][0])
    assert got == [("SELL", sell_bar), ("BUY", buy_bar)]
    sell, buy = signals
    # at bar 62 the turn of bar 60 still counts (2 bars ago); at 88 the turn of 73 has expired
    assert sell.rules == ["rsi", "macd_cross", "hist_turn"]
    assert sell.score == pytest.approx(100.0)
    assert "MACD crossed below its signal line" in sell.reason and "(2 bars ago)" in sell.reason
    assert buy.rules == ["rsi", "macd_cross"]
    assert buy.score == pytest.approx(80.0) and buy.confidence == pytest.approx(0.8)
    assert "RSI left oversold" in buy.reason and "(1 bar ago)" in buy.reason
    assert "MACD crossed above its signal line" in buy.reason


def test_a_window_of_one_bar_needs_the_crossings_on_the_same_bar() -> None:
    got, _ = run({"strategy": "rsi_macd", "rsi_macd": {"window": 1}})
    assert got == []


def test_the_engine_state_reports_the_strategy_score() -> None:
    e = MarketEngine({**SHORT_WARMUP, "strategy": "rsi_macd"})
    e.on_candles(candles())
    s = e.state("BTCUSDT", "1m")["signal_score"]
    # on the last bar the latest event (the turn down of bar 101) has expired
    assert s == {
        "strategy": "rsi_macd",
        "score": 0.0,
        "direction": "neutral",
        "context": 0.0,
        "rules": 0.0,
    }
    d = MarketEngine(SHORT_WARMUP)
    d.on_candles(candles())
    assert d.state("BTCUSDT", "1m")["signal_score"] is None


def test_the_context_strategy_is_the_default_and_unchanged() -> None:
    default, signals = run({})
    assert default == run({"strategy": "context"})[0]
    assert all(s.strategy == "context" and s.rules == [] for s in signals)
    assert '"strategy": "context"' in EngineConfig().to_json()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"strategy": "macd"}, 'unknown strategy "macd"'),
        ({"strategy": "mix"}, "needs its weights"),
        (
            {"strategy": {"mix": {"context": -0.2, "rsi_macd": 1}}},
            "strategy.mix.context must be within",
        ),
        (
            {"strategy": {"mix": {"context": 0, "rsi_macd": 0}}},
            "strategy.mix weights must not all be zero",
        ),
        (
            {"strategy": {"mix": {"context": 0.5, "rsi": 0.5}}},
            'strategy.mix: unknown strategy "rsi"',
        ),
        ({"strategy": {"mix": {"context": "0.5"}}}, "strategy.mix.context must be a number"),
        ({"strategy": {"blend": {"context": 1}}}, 'the one key "mix"'),
        (
            {"rsi_macd": {"weights": {"rsi": 0, "macd_cross": 0, "hist_turn": 0}}},
            "must not all be zero",
        ),
        ({"rsi_macd": {"weights": {"rsi": -1}}}, "rsi_macd.weights.rsi must be within"),
        ({"rsi_macd": {"weights": {"volume": 1}}}, "volume"),
        ({"rsi_macd": {"oversold": 70, "overbought": 30}}, "rsi_macd.oversold (70) must be below"),
        ({"rsi_macd": {"window": 0}}, "rsi_macd.window must be within"),
    ],
)
def test_bad_strategy_configs_are_refused_with_what_is_wrong(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as e:
        MarketEngine(config)
    assert message in str(e.value)


def test_a_mix_round_trips_and_weights_both_scores() -> None:
    cfg = {"strategy": {"mix": {"context": 0.6, "rsi_macd": 0.4}}}
    e = MarketEngine({**SHORT_WARMUP, **cfg})
    assert '"mix"' in e.config.to_json()
    assert EngineConfig(e.config.to_json()) == e.config
    r = e.on_candles(candles())
    ctx_scores = {int(t): (s, d) for t, s, d in zip(r.timestamp, r.score, r.direction, strict=True)}
    # the mix is 0.6 x the context's score on the signal's side (0 if it
    # points the other way) + 0.4 x the rules' score on that side
    assert [s.side for s in r.signals] == ["SELL", "BUY"]
    for s in r.signals:
        ctx, d = ctx_scores[s.generated_at]
        side = -1 if s.side == "SELL" else 1
        ctx_part = ctx if d == side else 0.0
        assert s.strategy == "mix" and s.score >= 70.0
        assert s.reason.startswith(
            f"mix {'short' if side < 0 else 'long'}: score {s.score:.1f} = 0.60 x context "
        )
        assert s.score == pytest.approx(0.6 * ctx_part + 0.4 * rules_score(s.rules))


def rules_score(rules: list[str]) -> float:
    w = {"rsi": 0.4, "macd_cross": 0.4, "hist_turn": 0.2}
    return 100.0 * sum(w[r] for r in rules)


def test_the_market_services_signal_events_carry_the_strategy_and_its_rules() -> None:
    """What ``/signals`` and the market stream send: the strategy and the rules that fired."""
    from avd.domain.events import event_from_dict
    from avd.services.market.service import signal_event

    _, signals = run({"strategy": "rsi_macd"})
    sell = signal_event(signals[0])
    # the rules of the hand-worked SELL on bar 62 (see the default-rules test above)
    assert (sell.strategy, sell.rules) == ("rsi_macd", "rsi,macd_cross,hist_turn")
    assert event_from_dict(sell.to_dict()) == sell  # recordings and the wire keep them
    _, plain = run({})
    assert plain  # the context strategy signals on this series too
    assert all(signal_event(s).strategy == "context" for s in plain)
    assert all(signal_event(s).rules == "" for s in plain)


def test_a_named_strategy_fires_at_the_hand_computed_crossings_beside_the_primary() -> None:
    """``strategies: {"rules": "rsi_macd"}`` next to the default context strategy: the named
    one's signals come on the hand-computed RSI bars and carry its name; the primary's are
    those of an engine without named strategies."""
    ev = events()
    cfg = {**only("rsi"), "strategy": "context", "strategies": {"rules": "rsi_macd"}}
    got, signals = run(cfg)
    named = [(side, b) for (side, b), s in zip(got, signals, strict=True) if not s.primary]
    primary = [(side, b) for (side, b), s in zip(got, signals, strict=True) if s.primary]
    want = sorted([("SELL", b) for b in ev["rsi-"]] + [("BUY", b) for b in ev["rsi+"]])
    assert sorted(named, key=lambda x: x[1]) == sorted(want, key=lambda x: x[1])
    assert all(s.strategy == "rules" and s.rules == ["rsi"] for s in signals if not s.primary)
    alone, _ = run({"signals": {"cooldown_bars": 0}})
    assert primary == alone
    assert all(s.strategy == "context" for s in signals if s.primary)


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        ({"Rules": "rsi_macd"}, "is not a name"),
        ({"context": "rsi_macd"}, "the primary strategy's name"),
        ({"x": "momentum"}, 'unknown strategy "momentum"'),
        ({f"s{i}": "rsi_macd" for i in range(9)}, "at most 8 named strategies"),
    ],
)
def test_bad_named_strategies_are_refused(strategies: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        MarketEngine({"strategies": strategies})
    assert message in str(e.value)
