"""``avd backtest`` and ``avd sweep``, run as a user runs them."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avd.backtest.data import load
from avd.history import read_candles

AVD = [sys.executable, "-m", "avd"]


def avd_cmd(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AVD, *map(str, args)], capture_output=True, text=True, timeout=180)


def test_backtest_writes_the_four_artifacts(shared_data: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "strategy.json"
    cfg.write_text(
        json.dumps({"stops": {"stop_atr": 2.5, "trail_pct": 3}, "fills": {"slippage_bps": 2}})
    )
    out = tmp_path / "report"
    r = avd_cmd(
        "backtest",
        "--data",
        shared_data / "BTCUSDT-1h.csv.gz",
        "--config",
        cfg,
        "--from",
        "2020-01-01",
        "--to",
        "2021-01-01",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    for label in (
        "Total return",
        "CAGR",
        "Sharpe",
        "Sortino",
        "Max drawdown",
        "Calmar",
        "Win rate",
        "Profit factor",
        "Expectancy",
        "Exposure",
        "Trades",
        "Avg trade duration",
    ):
        assert label in r.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "equity.png",
        "report.html",
        "report.json",
        "trades.csv",
    ]
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["stops"]["trail_pct"] == 3 and rep["config"]["fills"]["slippage_bps"] == 2
    assert rep["meta"]["from"].startswith("2020-01-01") and rep["meta"]["to"].startswith(
        "2020-12-31"
    )
    lines = (out / "trades.csv").read_text().splitlines()
    assert len(lines) == rep["stats"]["trades"] + 1 and lines[0].startswith("symbol,side,")
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/no/such/file.csv"], "no such file"),
        (["--config", "{cfg}"], "unknown field"),
        (["--from", "yesterday"], "not a date"),
        (["--data", "{junk}"], "junk"),
    ],
)
def test_backtest_refuses_bad_input_cleanly(
    shared_data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"stops": {"stop_loss": 1}}')
    junk = tmp_path / "JUNKUSDT-1h.csv"
    junk.write_text("open_time,open\n1,abc\n")
    args = [a.format(cfg=cfg, junk=junk) for a in args]
    if "--data" not in args:
        args += ["--data", str(shared_data / "BTCUSDT-1d.csv.gz")]
    out = tmp_path / "out"
    r = avd_cmd("backtest", *args, "--out", out)
    assert r.returncode == 2
    assert message in r.stderr.lower() and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_failed_run_leaves_a_previous_report_untouched(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    r = avd_cmd(
        "backtest",
        "--data",
        shared_data / "BTCUSDT-1d.csv.gz",
        "--config",
        tmp_path / "nope.json",
        "--out",
        out,
    )
    assert r.returncode == 2
    assert [p.name for p in out.iterdir()] == ["report.json"]


def test_sweep_and_walk_forward_commands(shared_data: Path, tmp_path: Path) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(
        json.dumps(
            {
                "metric": "sharpe",
                "grid": {"stops.stop_atr": [2, 3]},
                "walk_forward": {"train_bars": 800, "test_bars": 400},
            }
        )
    )
    data = shared_data / "BTCUSDT-1d.csv.gz"
    r = avd_cmd("sweep", "--data", data, "--spec", spec, "--out", tmp_path / "s")
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert res["params"] == ["stops.stop_atr"] and len(res["rows"]) == 2
    r = avd_cmd("sweep", "--data", data, "--spec", spec, "--walk-forward", "--out", tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert len(json.loads((tmp_path / "w" / "walk_forward.json").read_text())["windows"]) >= 3
    r = avd_cmd("backtest", "--data", data, "--sweep", spec, "--out", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "sweep.json").exists()


def test_binance_raw_kline_csv_and_json_read_like_the_avd_csv(
    shared_data: Path, tmp_path: Path
) -> None:
    c = read_candles(shared_data / "full_fields" / "BTCUSDT-1h.csv.gz")
    n = 300
    rows = []
    for i in range(n):
        rows.append(
            [
                int(c.open_time[i]),
                f"{c.open[i]:.8f}",
                f"{c.high[i]:.8f}",
                f"{c.low[i]:.8f}",
                f"{c.close[i]:.8f}",
                f"{c.volume[i]:.8f}",
                int(c.open_time[i]) + 3_599_999,
                f"{c.quote_volume[i]:.8f}",
                int(c.trades[i]),
                f"{c.taker_buy_base[i]:.8f}",
                "0",
                "0",
            ]
        )
    # Binance's API response, gzip'd, and two monthly dumps of the raw CSV
    # (no header) that overlap by 10 rows.
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "BTCUSDT-1h.json.gz").write_bytes(gzip.compress(json.dumps(rows).encode()))
    (tmp_path / "raw").mkdir()
    for name, part in (("2024-07", rows[:160]), ("2024-08", rows[150:])):
        text = "\n".join(",".join(str(v) for v in r) for r in part) + "\n"
        (tmp_path / "raw" / f"BTCUSDT-1h-{name}.csv").write_text(text)
    for folder in ("json", "raw"):
        (got,) = load([tmp_path / folder])
        assert (got.symbol, got.interval, len(got)) == ("BTCUSDT", "1h", n)
        for f in (
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "trades",
            "taker_buy_base",
        ):
            np.testing.assert_allclose(getattr(got, f), getattr(c, f)[:n], rtol=1e-12, err_msg=f)


#: rows of the 1m and 5m files of ../shared/data (its README's table)
ROWS_1M = {"BNBUSDT": 43_199, "BTCUSDT": 43_199, "ETHUSDT": 43_199, "SOLUSDT": 43_199}
ROWS_1M["XRPUSDT"] = 43_200
ROWS_5M = 28_966


def test_a_folder_of_several_intervals_trades_the_finest_every_symbol_has(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    r = avd_cmd("backtest", "--data", shared_data, "--from", "2026-04-20", "--out", out)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stdout.split())
    assert "1m candles of BNBUSDT, BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT" in said
    rep = json.loads((out / "report.json").read_text())
    assert rep["meta"]["symbols"] == "BNBUSDT, BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT"
    assert rep["counters"]["candles"] == sum(ROWS_1M.values())


def test_interval_picks_another_and_names_the_symbols_without_it(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    r = avd_cmd("backtest", "--data", shared_data, "--interval", "5m", "--out", out)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stdout.split())
    assert "5m candles of BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT" in said
    assert "without 5m candles: BNBUSDT" in said
    rep = json.loads((out / "report.json").read_text())
    assert rep["meta"]["symbols"] == "BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT"
    assert rep["counters"]["candles"] == 4 * ROWS_5M


@pytest.mark.parametrize("command", ["backtest", "sweep"])
@pytest.mark.parametrize(
    ("window", "message"),
    [
        (["--from", "2021-01-01", "--to", "2020-01-01"], "is not before --to"),
        (["--from", "2020-01-01", "--to", "2020-01-01"], "is not before --to"),
        # the data: 2017-08-17 .. 2025-05-19 (daily)
        (["--from", "2026-01-01"], "holds no candle"),
        (["--to", "2017-01-01"], "holds no candle"),
        (["--from", "2010-01-01", "--to", "2017-08-01"], "holds no candle"),
    ],
)
def test_a_window_without_candles_is_refused_before_the_run(
    shared_data: Path, tmp_path: Path, command: str, window: list[str], message: str
) -> None:
    out = tmp_path / "out"
    extra: list[str | Path] = []
    if command == "sweep":
        spec = tmp_path / "grid.json"
        spec.write_text(json.dumps({"grid": {"stops.stop_atr": [2, 3]}}))
        extra = ["--spec", spec]
    r = avd_cmd(command, "--data", shared_data / "BTCUSDT-1d.csv.gz", *window, *extra, "--out", out)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stdout == "" and not out.exists()


def test_an_unwritable_out_is_refused_before_the_run(shared_data: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = avd_cmd(
        "backtest", "--data", shared_data / "BTCUSDT-1h.csv.gz", "--out", blocker / "report"
    )
    assert r.returncode == 2
    assert "--out" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # refused up front: no statistics were computed and printed
    assert r.stdout == ""


def test_lower_candles_that_do_not_overlap_the_data_are_refused(
    shared_data: Path, tmp_path: Path
) -> None:
    # hourly 2017-2022 against minutes of 2026
    r = avd_cmd(
        "backtest",
        "--data",
        shared_data / "BTCUSDT-1h.csv.gz",
        "--lower",
        shared_data / "BTCUSDT-1m.csv.gz",
        "--out",
        tmp_path / "out",
    )
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "does not overlap" in line and "BTCUSDT 1m" in line and len(line.splitlines()) == 1
    # inside the data but outside the traded window: the same
    r = avd_cmd(
        "backtest",
        "--data",
        shared_data / "full_fields" / "BTCUSDT-1h.csv.gz",
        "--lower",
        shared_data / "full_fields" / "BTCUSDT-1m.csv.gz",
        "--from",
        "2025-01-01",
        "--out",
        tmp_path / "out",
    )
    assert r.returncode == 2 and "does not overlap" in r.stderr, r.stderr


def test_overlapping_lower_candles_are_used(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = avd_cmd(
        "backtest",
        "--data",
        shared_data / "full_fields" / "BTCUSDT-1h.csv.gz",
        "--lower",
        shared_data / "full_fields",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert "finer candles: BTCUSDT 1m" in " ".join(r.stdout.split())
    rep = json.loads((out / "report.json").read_text())
    assert rep["counters"]["lower_tf_bars"] > 0
