"""The MarketEngine on the real Binance candles: scores, signals, gaps,
streaming against batch, scale, and bad input."""

from __future__ import annotations

import json
import math
import resource
from pathlib import Path

import numpy as np
import pytest

from avd._core import ContextScore
from avd.engine import BatchResult, EngineConfig, MarketEngine, load_engine_config
from avd.exceptions import ConfigError, InvalidInputError, InvalidParameterError
from avd.history import Candles, read_candles

HOUR = 3_600_000


def columns(c: Candles, sl: slice = slice(None)) -> dict[str, np.ndarray]:
    return {
        "open_time": np.ascontiguousarray(c.open_time[sl]),
        "open": np.ascontiguousarray(c.open[sl]),
        "high": np.ascontiguousarray(c.high[sl]),
        "low": np.ascontiguousarray(c.low[sl]),
        "close": np.ascontiguousarray(c.close[sl]),
        "volume": np.ascontiguousarray(c.volume[sl]),
    }


@pytest.mark.parametrize(
    "name", ["BTCUSDT-1m", "XRPUSDT-1m", "ETHUSDT-5m", "SOLUSDT-1h", "BTCUSDT-1d"]
)
def test_scores_stay_within_0_100_and_components_explain_them(shared_data: Path, name: str) -> None:
    c = read_candles(shared_data / f"{name}.csv.gz")
    r = MarketEngine().on_candles(c)
    assert len(r) == len(c)
    scored = ~np.isnan(r.score)
    assert scored.sum() > len(c) - 200
    s = r.score[scored]
    assert s.min() >= 0.0 and s.max() <= 100.0
    for comp in r.components.values():
        v = comp[scored]
        assert v.min() >= 0.0 and v.max() <= 100.0
    # the score is the weighted mean of the components (default weights)
    cfg = json.loads(EngineConfig().to_json())["scoring"]
    total = sum(cfg.values())
    mean = sum(cfg[k] * r.components[k][scored] for k in cfg) / total
    np.testing.assert_allclose(s, mean, rtol=1e-12, atol=1e-12)
    # every pattern code is a known one and shows up with a consistent direction
    names = [r.PATTERNS[p] for p in r.pattern[scored]]
    dirs = r.direction[scored]
    for p, d in zip(names, dirs, strict=True):
        if p in ("range", "none"):
            assert d == 0
        elif p == "accumulation":
            assert d == 1
        elif p == "distribution":
            assert d == -1
        else:
            assert d != 0


def _check_hysteresis_and_cooldown(r: BatchResult, cfg: dict[str, float]) -> None:
    """Every signal: score >= entry, at least `cooldown` bars since the last
    one, and since the last signal of the same side the score dipped below
    re-arm (or pointed elsewhere)."""
    index = {int(t): i for i, t in enumerate(r.timestamp)}
    last_any = -(10**9)
    last_side: dict[str, int] = {}
    side_dir = {"BUY": 1, "SELL": -1}
    for s in r.signals:
        i = index[s.generated_at]
        assert r.score[i] >= cfg["entry_threshold"]
        assert r.direction[i] == side_dir[s.side]
        assert abs(s.confidence - r.score[i] / 100) < 1e-12
        assert i - last_any > cfg["cooldown_bars"], "cooldown violated"
        if s.side in last_side:
            between = range(last_side[s.side] + 1, i)
            dipped = any(
                r.score[j] < cfg["rearm_threshold"] or r.direction[j] != side_dir[s.side]
                for j in between
            )
            assert dipped, "fired again without re-arming"
        last_any = i
        last_side[s.side] = i


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"])
def test_signals_on_real_data_respect_threshold_hysteresis_and_cooldown(
    shared_data: Path, symbol: str
) -> None:
    c = read_candles(shared_data / f"{symbol}-1m.csv.gz")
    engine = MarketEngine()
    r = engine.on_candles(c)
    cfg = json.loads(engine.config.to_json())["signals"]
    assert len(r.signals) > 10, "a month of 1m candles should give some signals"
    assert len(r.signals) < len(c) / (cfg["cooldown_bars"] + 1)
    _check_hysteresis_and_cooldown(r, cfg)
    for s in r.signals:
        assert s.symbol == symbol and s.interval == "1m"
        assert s.side in ("BUY", "SELL")
        assert 0.0 <= s.confidence <= 1.0
        assert s.pattern in s.reason


def test_a_long_cooldown_and_wide_hysteresis_give_fewer_signals(btc_1m: Candles) -> None:
    base = MarketEngine().on_candles(btc_1m)
    strict_cfg = {"signals": {"cooldown_bars": 240, "rearm_threshold": 30}}
    strict = MarketEngine(strict_cfg).on_candles(btc_1m)
    assert 0 < len(strict.signals) < len(base.signals)
    _check_hysteresis_and_cooldown(
        strict, {"entry_threshold": 70, "rearm_threshold": 30, "cooldown_bars": 240}
    )


def test_one_kline_at_a_time_equals_the_batch(btc_1m: Candles) -> None:
    c = btc_1m.tail(3000)
    batch = MarketEngine().on_candles(c)
    engine = MarketEngine()
    scores: list[float] = []
    signals = []
    for i in range(len(c)):
        events = engine.on_kline(
            "BTCUSDT",
            "1m",
            int(c.open_time[i]),
            float(c.open[i]),
            float(c.high[i]),
            float(c.low[i]),
            float(c.close[i]),
            float(c.volume[i]),
        )
        ctx = [e for e in events if type(e).__name__ == "ContextScore"]
        scores.append(ctx[0].score if ctx else float("nan"))
        signals.extend(e for e in events if type(e).__name__ == "TradeSignal")
    np.testing.assert_array_equal(np.array(scores), batch.score)
    assert [(s.generated_at, s.side) for s in signals] == [
        (s.generated_at, s.side) for s in batch.signals
    ]


def test_in_progress_updates_change_nothing_until_the_candle_closes(btc_1m: Candles) -> None:
    c = btc_1m.tail(500)
    plain = MarketEngine().on_candles(c)
    # interleave two in-progress updates before each closed candle
    n = len(c)
    idx = np.repeat(np.arange(n), 3)
    closed = np.tile([False, False, True], n)
    cols = {k: v[idx] for k, v in columns(c).items()}
    cols["close"] = np.where(closed, cols["close"], cols["open"])
    cols["high"] = np.maximum(cols["high"], cols["close"])
    cols["low"] = np.minimum(cols["low"], cols["close"])
    r = MarketEngine().on_klines("BTCUSDT", "1m", **cols, closed=closed)
    assert r.forming_updates == 2 * n
    np.testing.assert_array_equal(r.score, plain.score)


def test_batch_columns_hold_one_row_per_closed_candle(btc_1m: Candles) -> None:
    # 3 klines per candle (two in-progress updates), so the columns are
    # cut to a third of the klines; each row is the candle's own context
    c = btc_1m.tail(400)
    n = len(c)
    idx = np.repeat(np.arange(n), 3)
    closed = np.tile([False, False, True], n)
    cols = {k: v[idx] for k, v in columns(c).items()}
    r = MarketEngine().on_klines("BTCUSDT", "1m", **cols, closed=closed)
    assert len(r) == n
    assert r.timestamp.dtype == np.int64 and r.direction.dtype == np.int8
    assert r.pattern.dtype == np.uint8 and r.score.dtype == np.float64
    for name, col in [("timestamp", r.timestamp), ("score", r.score), *r.components.items()]:
        assert col.shape == (n,), name
    np.testing.assert_array_equal(r.timestamp, c.open_time + 60_000 - 1)
    engine = MarketEngine()
    engine.on_klines("BTCUSDT", "1m", **columns(c, slice(0, n - 1)))
    engine.on_klines("BTCUSDT", "1m", **columns(c, slice(n - 1, None)))
    last = engine.context("BTCUSDT", "1m")
    assert last is not None
    assert (r.score[-1], r.components["trend"][-1]) == (last.score, last.components["trend"])


def test_held_gaps_then_backfill_give_the_uninterrupted_result(btc_1m: Candles) -> None:
    c = btc_1m.tail(2000)
    full = MarketEngine().on_candles(c)
    engine = MarketEngine()
    cols = columns(c)
    keep = np.ones(len(c), dtype=bool)
    keep[1000:1010] = False  # ten candles lost, as after a dropped connection
    first = engine.on_klines(
        "BTCUSDT", "1m", **{k: v[keep] for k, v in cols.items()}, allow_gap=False
    )
    assert first.held_at == 1000
    assert first.gaps == [(int(c.open_time[1000]), 10)]
    # backfill the missing candles, then resume with the held one onwards
    rest = engine.on_klines("BTCUSDT", "1m", **columns(c, slice(1000, None)), allow_gap=False)
    assert rest.held_at is None and rest.gaps == []
    scores = np.concatenate([first.score, rest.score])
    np.testing.assert_array_equal(scores, full.score)
    assert [s.generated_at for s in first.signals + rest.signals] == [
        s.generated_at for s in full.signals
    ]


def test_the_real_outage_gaps_of_the_1h_file_are_reported(btc_1h: Candles) -> None:
    r = MarketEngine().on_candles(btc_1h)
    # independent count: any step longer than one hour is a gap
    t = btc_1h.open_time
    steps = np.diff(t)
    gap_steps = steps[steps > HOUR]
    expected_missing = int(sum(-(-(s - HOUR) // HOUR) for s in gap_steps))
    assert len(r.gaps) == len(gap_steps)
    assert sum(m for _, m in r.gaps) == expected_missing
    assert len(r) == len(btc_1h)  # the unaligned 2018 candles are kept
    assert np.isfinite(r.score[-1000:]).all()


def test_duplicates_and_stale_klines_are_ignored_and_counted(btc_1m: Candles) -> None:
    c = btc_1m.tail(300)
    cols = columns(c)
    order = np.concatenate([np.arange(300), [299, 150, 10]])
    r = MarketEngine().on_klines("BTCUSDT", "1m", **{k: v[order] for k, v in cols.items()})
    assert len(r) == 300
    assert r.ignored == 3


def test_engine_reports_context_and_indicators_on_request(btc_1m: Candles) -> None:
    engine = MarketEngine()
    r = engine.on_candles(btc_1m.tail(1000))
    ctx = engine.context("BTCUSDT", "1m")
    assert ctx is not None
    assert ctx.score == r.score[-1]
    assert ctx.timestamp == int(btc_1m.open_time[-1]) + 60_000 - 1
    assert ctx.close == btc_1m.close[-1]
    assert set(ctx.components) == {"trend", "momentum", "volatility", "volume", "breakout", "flow"}
    ind = engine.indicators("BTCUSDT", "1m")
    assert ind["close"] == btc_1m.close[-1]
    assert 0 <= ind["rsi"] <= 100 and ind["atr"] > 0
    state = engine.state("BTCUSDT", "1m")
    assert state["bars"] == 1000 and state["ready"] and state["last_price"] == btc_1m.close[-1]
    held = engine.candles("BTCUSDT", "1m")
    assert len(held["close"]) == 500  # the default buffer capacity
    np.testing.assert_array_equal(held["close"], btc_1m.close[-500:])
    with pytest.raises(InvalidParameterError, match="not tracked"):
        engine.context("ETHUSDT", "1m")


def test_a_thousand_symbols_on_three_timeframes(btc_1m: Candles) -> None:
    engine = MarketEngine({"buffer_capacity": 300})
    c = btc_1m.tail(120)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for k in range(1000):
        for interval in ("1m", "5m", "1h"):
            engine.on_klines(f"SYM{k}USDT", interval, **columns(c))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(engine) == 3000
    assert len(engine.contexts()) == 3000
    assert grown_mib < 1024, f"3000 streams took {grown_mib:.0f} MiB"


def test_bad_klines_raise_clear_errors_and_change_nothing(btc_1m: Candles) -> None:
    engine = MarketEngine()
    cols = columns(btc_1m.tail(100))
    bad = dict(cols)
    bad["close"] = cols["close"].copy()
    bad["close"][50] = np.nan
    with pytest.raises(InvalidInputError, match="kline 50"):
        engine.on_klines("BTCUSDT", "1m", **bad)
    assert engine.state("BTCUSDT", "1m")["bars"] == 0
    short = dict(cols)
    short["volume"] = cols["volume"][:-1]
    with pytest.raises(ValueError, match="different lengths"):
        engine.on_klines("BTCUSDT", "1m", **short)
    with pytest.raises(InvalidInputError):
        engine.on_kline("BTCUSDT", "1m", 0, 10.0, 9.0, 11.0, 10.0, 1.0)  # high < low
    with pytest.raises(InvalidParameterError, match="symbol"):
        engine.on_kline("btc-usdt", "1m", 0, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidParameterError, match="interval"):
        engine.on_kline("BTCUSDT", "2m", 0, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(TypeError):
        engine.on_klines("BTCUSDT", "1m", **{**cols, "open_time": cols["close"]})


def test_configuration_loads_from_json_and_refuses_bad_values(tmp_path: Path) -> None:
    good = tmp_path / "engine.json"
    good.write_text(json.dumps({"signals": {"entry_threshold": 80}}))
    cfg = load_engine_config(good)
    assert json.loads(cfg.to_json())["signals"]["entry_threshold"] == 80
    assert json.loads(cfg.to_json())["indicators"]["rsi"] == 14
    with pytest.raises(ConfigError, match="entry_treshold"):
        load_engine_config({"signals": {"entry_treshold": 80}})
    with pytest.raises(ConfigError, match="rearm_threshold"):
        load_engine_config({"signals": {"rearm_threshold": 95}})
    with pytest.raises(ValueError, match="ema_fast"):
        MarketEngine({"indicators": {"ema_fast": 100, "ema_slow": 50}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad\.json"):
        load_engine_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_engine_config(tmp_path / "missing.json")


def test_the_flow_reads_the_kline_delta_of_its_window_on_real_candles(shared_data: Path) -> None:
    """``delta_share`` = Σ (2 x taker_buy - volume) / Σ volume over the last 20 candles,
    against pandas on real BTCUSDT hours with the taker-buy column; the flow component is
    then half OBV-vs-EMA, half the delta share scaled by 0.2 along the context's direction."""
    import pandas as pd

    df = pd.read_csv(shared_data / "full_fields" / "BTCUSDT-1h.csv.gz").iloc[:400]
    delta = 2 * df["taker_buy_base"] - df["volume"]
    want = delta.rolling(20).sum() / df["volume"].rolling(20).sum()
    engine = MarketEngine()
    checked = 0
    for i, r in enumerate(df.itertuples()):
        events = engine.on_kline(
            "BTCUSDT", "1h", int(r.open_time), r.open, r.high, r.low, r.close, r.volume,
            closed=True, taker_buy_base=r.taker_buy_base,
        )  # fmt: skip
        got = engine.indicators("BTCUSDT", "1h")["delta_share"]
        if i < 19:
            assert math.isnan(got)
            continue
        assert got == pytest.approx(want.iloc[i], abs=1e-12)
        for e in events:
            if isinstance(e, ContextScore) and e.direction != "neutral":
                ind = engine.indicators("BTCUSDT", "1h")
                d = 1.0 if e.direction == "long" else -1.0
                obv_part = 1.0 if (ind["obv"] - ind["obv_ema"]) * d > 0 else 0.0
                delta_part = min(1.0, max(0.0, got * d / 0.2))
                assert e.components["flow"] == pytest.approx(
                    100 * (0.5 * obv_part + 0.5 * delta_part), abs=1e-9
                )
                checked += 1
    assert checked >= 50, "directional contexts to check the flow component on"
