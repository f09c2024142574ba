"""The offline replay after a restart (issue 10, item 5), and ``avd run --data`` on a
folder of several intervals (item 7).

The platform runs for real on a data folder in a temp dir: the in-process
simulator replays slices of real Binance 1m candles, python-binance reads them
over loopback, closed candles are stored in SQLite. It is stopped and started
again on the same data folder. Expected candles come from the CSV files and
the stored ones from the SQLite file, read with :mod:`sqlite3`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from avd.domain.events import KlineReceived
from avd.exchange.simulator import SimConfig
from avd.net import free_port
from avd.runtime.platform import MarketSection, Platform, PlatformSettings
from tests.polling import until, wait_http_ok, wait_until

MINUTE = 60_000
WARMUP = 50
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _rows(shared: Path, name: str, n: int) -> tuple[str, list[str]]:
    with gzip.open(shared / name, "rt") as f:
        lines = f.read().splitlines()
    return lines[0], lines[1 : 1 + n]


def _write_slice(shared: Path, folder: Path, name: str, n: int) -> dict[int, list[float]]:
    """The first ``n`` rows of a shared file into ``folder``; ``{open_time: OHLCV}``."""
    header, rows = _rows(shared, name, n)
    folder.mkdir(exist_ok=True)
    (folder / name.replace(".gz", "")).write_text("\n".join([header, *rows]) + "\n")
    out = {}
    for r in rows:
        f = r.split(",")
        out[int(f[0])] = [float(x) for x in f[1:6]]
    return out


def _stored(db: Path) -> dict[str, list[int]]:
    """Open times stored per symbol (1m), straight from the SQLite file."""
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT symbol, open_time FROM candles WHERE interval = '1m' ORDER BY open_time"
        ).fetchall()
    out: dict[str, list[int]] = {}
    for sym, ot in rows:
        out.setdefault(sym, []).append(int(ot))
    return out


def _settings(data: Path, home: Path, *, paused: bool) -> PlatformSettings:
    return PlatformSettings(
        port=0,
        data_dir=home,
        market=MarketSection(warmup_bars=WARMUP),
        # one replay step per candle: every step closes one 1m candle per symbol
        sim=SimConfig(data=data, step_ms=MINUTE, speed=0, paused=paused),
    )


async def _run(
    settings: PlatformSettings, steps: int, received: list[KlineReceived] | None = None
) -> None:
    """Start the platform, step the paused replay ``steps`` candles, store them, stop."""
    platform = Platform(settings)
    got: list[KlineReceived] = [] if received is None else received

    async def on_kline(e: object) -> None:
        if isinstance(e, KlineReceived) and e.closed:
            got.append(e)

    platform.hub.subscribe("test-klines", on_kline, KlineReceived)
    await platform.start()
    try:
        assert platform.simulator is not None
        sim = platform.simulator

        def subscribed() -> bool:
            conns = sim.call(lambda: [list(c.names) for c in sim.sim.hub.conns])
            return any("@kline_" in n for names in conns for n in names)

        await until(
            lambda: asyncio.to_thread(subscribed), "the collector's kline stream", timeout=60
        )
        await asyncio.to_thread(sim.call, lambda: sim.sim.step(steps))
        last_closed = sim.call(lambda: sim.sim.market.now) - MINUTE

        def all_in() -> bool:
            return all(
                any(k.symbol == s and k.open_time == last_closed for k in got) for s in SYMBOLS
            )

        await until(all_in, "the last closed candle of every symbol", timeout=60)
        await platform.hub.drain()
        await platform.history_writer.flush()
    finally:
        await platform.stop()


def test_a_restart_resumes_the_replay_after_the_newest_stored_candle(
    shared_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    files = {s: _write_slice(shared_data, data, f"{s}-1m.csv.gz", 400) for s in SYMBOLS}
    home = tmp_path / "home"
    settings = _settings(data, home, paused=True)

    asyncio.run(_run(settings, 20))
    before = _stored(home / "client.db")
    assert set(before) == set(SYMBOLS)
    newest = max(ots[-1] for ots in before.values())

    after: list[KlineReceived] = []
    asyncio.run(_run(settings, 5, after))

    # the first candles streamed after the restart are the five after the newest stored,
    # with the file's values; none at or before it
    for s in SYMBOLS:
        mine = [k for k in after if k.symbol == s]
        assert [k.open_time for k in mine] == [newest + i * MINUTE for i in range(1, 6)], s
        for k in mine:
            assert [k.open, k.high, k.low, k.close, k.volume] == files[s][k.open_time]
    # stored once each, no gap: the 20 + 5 candles continue the stored run
    now = _stored(home / "client.db")
    for s in SYMBOLS:
        ots = now[s]
        assert ots == list(range(ots[0], ots[-1] + MINUTE, MINUTE)), s
        assert len(ots) == len(before[s]) + 5
        assert ots[-1] == newest + 5 * MINUTE


def test_a_restart_at_the_end_of_the_data_says_so(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    # warm-up + 60 candles before the first replay start: 20 candles left to replay
    rows = WARMUP + 60 + 20
    files = {s: _write_slice(shared_data, data, f"{s}-1m.csv.gz", rows) for s in SYMBOLS}
    last = max(files["BTCUSDT"])
    home = tmp_path / "home"
    settings = _settings(data, home, paused=True)
    asyncio.run(_run(settings, 20))
    assert {s: ots[-1] for s, ots in _stored(home / "client.db").items()} == {
        s: last for s in SYMBOLS
    }

    async def restart() -> bool:
        platform = Platform(settings)
        await platform.start()
        try:
            assert platform.simulator is not None
            sim = platform.simulator
            return bool(sim.call(lambda: sim.sim.market.finished))
        finally:
            await platform.stop()

    with caplog.at_level(logging.INFO):
        finished = asyncio.run(restart())
    assert finished
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("end of its data" in m and "2026-03-23 14:18" in m for m in warnings), warnings


def _wait_healthy(proc: subprocess.Popen[str], url: str) -> None:
    wait_http_ok(f"{url}/health", "avd run", proc=proc)


def _interrupt(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _avd_run(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "avd", "run", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_restart_replay_moves_the_data_folder_aside_and_starts_fresh(
    shared_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    for s in SYMBOLS:
        _write_slice(shared_data, data, f"{s}-1m.csv.gz", 400)
    home = tmp_path / "home"
    asyncio.run(_run(_settings(data, home, paused=True), 20))
    (home / "notes.txt").write_text("mine")
    old = _stored(home / "client.db")
    newest = max(ots[-1] for ots in old.values())

    cfg = tmp_path / "platform.json"
    cfg.write_text(
        json.dumps({"market": {"warmup_bars": WARMUP}, "sim": {"data": str(data), "paused": True}})
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _avd_run(
        "--config",
        str(cfg),
        "--data-dir",
        str(home),
        "--port",
        str(port),
        "--restart-replay",
        cwd=tmp_path,
    )
    try:
        _wait_healthy(proc, url)
        r = httpx.get(f"{url}/symbols/BTCUSDT/candles", params={"limit": 1000}, timeout=10)
        fresh = [c["open_time"] for c in r.json()["candles"]]
    finally:
        out, _ = _interrupt(proc)
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("home.")]
    assert len(moved) == 1 and moved[0].is_dir()
    assert f"moved to {moved[0]}" in out
    # the old folder kept everything: its file, its database with its candles
    assert (moved[0] / "notes.txt").read_text() == "mine"
    assert _stored(moved[0] / "client.db") == old
    # the new one started as on a first run: the replay started over
    assert not (home / "notes.txt").exists()
    assert fresh and fresh[-1] < newest


def test_run_on_a_folder_of_several_intervals_streams_the_finest(
    shared_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    btc = _write_slice(shared_data, data, "BTCUSDT-1m.csv.gz", 200)
    _write_slice(shared_data, data, "ETHUSDT-1m.csv.gz", 200)
    # hourly candles of 2017-2022 beside the 1m ones of 2026 (as in ../shared/data)
    _write_slice(shared_data, data, "BTCUSDT-1h.csv.gz", 500)
    cfg = tmp_path / "platform.json"
    cfg.write_text(json.dumps({"market": {"warmup_bars": WARMUP}}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _avd_run(
        "--config",
        str(cfg),
        "--data",
        str(data),
        "--data-dir",
        str(tmp_path / "home"),
        "--port",
        str(port),
        "--speed",
        "0",
        cwd=tmp_path,
    )
    last = max(btc)
    try:
        _wait_healthy(proc, url)

        def streamed_to_the_end() -> list[dict[str, Any]] | None:
            r = httpx.get(f"{url}/symbols/BTCUSDT/candles", params={"limit": 1000}, timeout=10)
            got: list[dict[str, Any]] = r.json().get("candles", [])
            return got if got and got[-1]["open_time"] == last else None

        candles = wait_until(
            streamed_to_the_end, "the last 1m candle to be streamed", timeout=60, interval=0.2
        )
    finally:
        _, err = _interrupt(proc)
    c = candles[-1]
    assert [c["open"], c["high"], c["low"], c["close"], c["volume"]] == btc[last]
    assert "replaying 1m candles of BTCUSDT, ETHUSDT" in err
