"""Candle files: the Rust reader against pandas on the real data, and clear
errors on bad files."""

from __future__ import annotations

import gzip
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from avd.domain.events import KlineReceived
from avd.exceptions import DataError
from avd.history import (
    candles_from_klines,
    choose_interval,
    discover,
    parse_name,
    read_candles,
    sample_dir,
)


@pytest.mark.parametrize(
    "name",
    ["BTCUSDT-1m", "XRPUSDT-1h", "ETHUSDT-1d", "full_fields/ETHUSDT-5m", "full_fields/BTCUSDT-1m"],
)
def test_reader_matches_pandas_on_real_files(shared_data: Path, name: str) -> None:
    path = shared_data / f"{name}.csv.gz"
    ours = read_candles(path)
    ref = pd.read_csv(path)
    assert len(ours) == len(ref)
    np.testing.assert_array_equal(ours.open_time, ref["open_time"].to_numpy())
    for col in (
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "taker_buy_base",
    ):
        np.testing.assert_array_equal(
            getattr(ours, col), ref[col].to_numpy(dtype=np.float64), err_msg=col
        )


def test_sample_data_is_three_days_of_five_symbols() -> None:
    files = discover(sample_dir())
    assert [parse_name(f) for f in files] == [
        (s, "1m") for s in ("BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
    ]
    for f in files:
        c = read_candles(f)
        assert len(c) == 3 * 24 * 60
        assert (np.diff(c.open_time) == 60_000).all()


def test_sample_is_a_verbatim_cut_of_the_shared_data(shared_data: Path) -> None:
    sample = read_candles(sample_dir() / "BTCUSDT-1m.csv.gz")
    full = read_candles(shared_data / "BTCUSDT-1m.csv.gz")
    start = int(np.searchsorted(full.open_time, sample.open_time[0]))
    np.testing.assert_array_equal(full.close[start : start + len(sample)], sample.close)


def test_binance_raw_kline_csv_is_read(tmp_path: Path) -> None:
    raw = tmp_path / "BTCUSDT-1m.csv"
    raw.write_text(
        "1767225600000,64000.00000000,64120.50000000,63950.00000000,64088.10000000,12.34500000,"
        "1767225659999,790912.11000000,412,6.10000000,390822.70000000,0\n"
    )
    c = read_candles(raw)
    assert c.symbol == "BTCUSDT" and c.interval == "1m"
    assert c.close.tolist() == [64088.1] and c.trades.tolist() == [412.0]


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "BTCUSDT-1m.csv.gz"
    with gzip.open(bad, "wt") as f:
        f.write("open_time,open,high,low,close,volume\n1,2,3,1,2,5\n2,2,oops,1,2,5\n")
    with pytest.raises(DataError, match=r"line 3.*high"):
        read_candles(bad)
    with pytest.raises(DataError, match="SYMBOL-INTERVAL"):
        parse_name(Path("prices.csv"))
    with pytest.raises(DataError, match="no such file"):
        discover(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no SYMBOL-INTERVAL"):
        discover(tmp_path / "empty")
    with pytest.raises(OSError):
        read_candles(tmp_path / "ETHUSDT-1m.csv.gz")


def test_one_interval_is_chosen_from_files_of_several() -> None:
    # ../shared/data: 1m for all five, 5m for all but BNB, 1h and 1d for all
    found = {
        "BNBUSDT": ["1d", "1h", "1m"],
        "BTCUSDT": ["1d", "1h", "1m", "5m"],
        "ETHUSDT": ["5m", "1d", "1m", "1h"],
    }
    c = choose_interval(found)
    assert (c.interval, c.symbols, c.skipped, c.given) == (
        "1m",
        ["BNBUSDT", "BTCUSDT", "ETHUSDT"],
        [],
        False,
    )
    assert c.available == ["1m", "5m", "1h", "1d"] and c.was_choice
    assert c.note().startswith("1m candles of BNBUSDT, BTCUSDT, ETHUSDT (the finest interval")
    c = choose_interval(found, "5m")
    assert (c.interval, c.symbols, c.skipped) == ("5m", ["BTCUSDT", "ETHUSDT"], ["BNBUSDT"])
    assert c.note().endswith("without 5m candles: BNBUSDT")
    # no interval shared by every symbol: the finest there is, for those who have it
    c = choose_interval({"BTCUSDT": ["1h"], "ETHUSDT": ["5m", "1d"]})
    assert (c.interval, c.symbols, c.skipped) == ("5m", ["ETHUSDT"], ["BTCUSDT"])
    # one file per symbol: no choice to talk about
    assert not choose_interval({"BTCUSDT": ["1h"], "ETHUSDT": ["1h"]}).was_choice
    with pytest.raises(DataError, match="no 4h candle files"):
        choose_interval(found, "4h")
    with pytest.raises(ValueError, match="unknown interval"):
        choose_interval(found, "7m")


def test_klines_of_every_shape_become_the_same_columns() -> None:
    # the same two candles: as the collector's klines, as stored rows (an
    # unknown optional value is NULL) and as Binance's REST kline arrays
    received = [
        KlineReceived(
            symbol="BTCUSDT",
            interval="1m",
            open_time=60_000,
            open=100.5,
            high=101.0,
            low=99.25,
            close=100.75,
            volume=3.5,
            quote_volume=352.0,
            trades=12.0,
            taker_buy_base=1.5,
            closed=True,
        ),
        KlineReceived(
            symbol="BTCUSDT",
            interval="1m",
            open_time=120_000,
            open=100.75,
            high=102.0,
            low=100.0,
            close=101.5,
            volume=2.0,
            closed=True,
        ),
    ]
    stored = [
        SimpleNamespace(**asdict(received[0])),
        SimpleNamespace(**{**asdict(received[1]), "quote_volume": None, "trades": None}),
    ]
    arrays = [
        [60_000, "100.5", "101.0", "99.25", "100.75", "3.5", 119_999, "352.0", 12, "1.5", "0", "0"],
        [120_000, "100.75", "102.0", "100.0", "101.5", "2.0"],
    ]
    nan = float("nan")
    for klines in (received, stored, arrays):
        c = candles_from_klines("BTCUSDT", "1m", klines)
        assert (c.symbol, c.interval, len(c)) == ("BTCUSDT", "1m", 2)
        assert c.open_time.dtype == np.int64 and c.open_time.tolist() == [60_000, 120_000]
        np.testing.assert_array_equal(c.open, [100.5, 100.75])
        np.testing.assert_array_equal(c.high, [101.0, 102.0])
        np.testing.assert_array_equal(c.low, [99.25, 100.0])
        np.testing.assert_array_equal(c.close, [100.75, 101.5])
        np.testing.assert_array_equal(c.volume, [3.5, 2.0])
        np.testing.assert_array_equal(c.quote_volume, [352.0, nan])
        np.testing.assert_array_equal(c.trades, [12.0, nan])
        np.testing.assert_array_equal(c.taker_buy_base, [1.5, nan])
    with pytest.raises(ValueError, match="kline 1"):
        candles_from_klines("BTCUSDT", "1m", [arrays[0], [180_000, "x", "1", "1", "1", "1"]])
