"""`avd run` for real: the simulator and the platform in one process, the
market API and its live stream over loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from avd.net import free_port
from tests.polling import wait_http_ok, wait_until

SYMBOLS = {"BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("avd")
    env = {**os.environ, "AVD_DATA_DIR": str(folder)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avd", "run", "--port", str(port), "--speed", "60"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/health", "avd run", proc=proc)
        yield url
    finally:
        try:
            interrupt(proc, folder)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def interrupt(proc: subprocess.Popen[Any], folder: Path) -> None:
    """SIGINT, and the process must stop; killed (and reaped) if it does not."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        log = folder / "logs" / "avd.jsonl"
        tail = log.read_text().splitlines()[-8:] if log.exists() else []
        pytest.fail("avd run did not stop on SIGINT; its log ends:\n" + "\n".join(tail))


def contexts(url: str) -> dict[str, dict]:
    r = httpx.get(f"{url}/symbols/contexts", timeout=10)
    assert r.status_code == 200
    return {c["symbol"]: c for c in r.json()["contexts"]}


def test_contexts_cover_every_symbol_with_scores_in_range_and_advancing_time(platform: str) -> None:
    first = contexts(platform)
    assert set(first) == SYMBOLS
    for c in first.values():
        assert 0 <= c["score"] <= 100
        assert set(c["components"]) == {
            "trend",
            "momentum",
            "volatility",
            "volume",
            "breakout",
            "flow",
        }

    def advanced() -> dict[str, dict] | None:
        now = contexts(platform)
        return now if all(now[s]["timestamp"] > first[s]["timestamp"] for s in SYMBOLS) else None

    # at 60x a 1m candle closes every second
    later = wait_until(advanced, "every symbol's context to advance")
    for s in SYMBOLS:
        assert later[s]["timestamp"] > first[s]["timestamp"], s
        assert 0 <= later[s]["score"] <= 100


def test_filters_sorting_and_errors(platform: str) -> None:
    r = httpx.get(f"{platform}/symbols/contexts", params={"sort": "-score", "limit": 3})
    rows = r.json()["contexts"]
    assert len(rows) == 3
    assert [x["score"] for x in rows] == sorted((x["score"] for x in rows), reverse=True)
    r = httpx.get(f"{platform}/symbols/contexts", params={"symbol": "ethusdt"})
    assert [x["symbol"] for x in r.json()["contexts"]] == ["ETHUSDT"]
    for params in ({"min_score": "200"}, {"sort": "sideways"}, {"limit": "abc"}, {"nope": "1"}):
        r = httpx.get(f"{platform}/symbols/contexts", params=params)
        assert r.status_code == 400, params
        assert set(r.json()) == {"error", "detail"}
    r = httpx.get(f"{platform}/symbols/DOGEUSDT/candles")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = httpx.get(f"{platform}/symbols/BTCUSDT/candles", params={"interval": "7m"})
    assert r.status_code == 400
    r = httpx.get(f"{platform}/symbols/BTCUSDT/candles", params={"limit": 5})
    candles = r.json()["candles"]
    assert len(candles) == 5
    assert [c["open_time"] for c in candles] == sorted(c["open_time"] for c in candles)


def test_signals_health_and_openapi(platform: str) -> None:
    r = httpx.get(f"{platform}/signals", params={"since": 0})
    assert r.status_code == 200
    for s in r.json()["signals"]:
        assert s["side"] in ("BUY", "SELL") and s["symbol"] in SYMBOLS
    h = httpx.get(f"{platform}/health").json()
    conns = h["streams"]["connections"]
    assert conns and conns[0]["connected"] and conns[0]["last_message_at"] is not None
    assert h["hub"]["market-context"]["errors"] == 0
    doc = httpx.get(f"{platform}/openapi.json").json()
    for path in (
        "/symbols/contexts",
        "/symbols/{symbol}/candles",
        "/signals",
        "/health",
        "/auth/login",
    ):
        assert path in doc["paths"], path


def test_the_live_stream_pushes_context_events(platform: str) -> None:
    async def main() -> list[dict]:
        got: list[dict] = []
        ws_url = platform.replace("http://", "ws://") + "/stream?types=context"
        async with websockets.connect(ws_url) as ws:
            while len(got) < 5:
                got.append(orjson.loads(await asyncio.wait_for(ws.recv(), 10)))
        return got

    events = asyncio.run(main())
    assert all(e["type"] == "ContextScoreCalculated" for e in events)
    assert all(0 <= e["score"] <= 100 and e["symbol"] in SYMBOLS for e in events)


def test_data_folder_holds_the_json_log(
    platform: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folders = list(Path(tmp_path_factory.getbasetemp()).glob("avd*/logs/avd.jsonl"))
    assert folders, "the JSON-lines log is written in the data folder"
    line = folders[0].read_text().splitlines()[0]
    assert {"ts", "level", "logger", "msg"} <= set(orjson.loads(line))


def test_closed_candles_are_persisted_and_served_back(platform: str) -> None:
    r = httpx.get(f"{platform}/symbols/SOLUSDT/candles", params={"limit": 5000})
    candles = r.json()["candles"]
    assert len(candles) >= 300  # the warm-up tail plus what streamed since
    times = [c["open_time"] for c in candles]
    assert times == list(range(times[0], times[-1] + 60_000, 60_000)), "no gap, no duplicate"


def test_a_recorded_session_replays_to_the_same_signals(tmp_path: Path) -> None:
    port = free_port()
    record = tmp_path / "rec"
    env = {**os.environ, "AVD_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avd",
            "run",
            "--port",
            str(port),
            "--speed",
            "120",
            "--symbols",
            "BTCUSDT,XRPUSDT",
            "--record",
            str(record),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/health", "avd run", proc=proc)

        def signalled() -> bool:
            # a session worth replaying: klines and at least one signal (the
            # first comes some 13 candles in, about 7 s at 120x); the recorder
            # writes every event it was given before the platform stops
            processed = httpx.get(f"{url}/health", timeout=5).json()["klines_processed"]
            signals = httpx.get(f"{url}/signals", params={"since": 0}, timeout=5).json()
            return processed > 20 and len(signals["signals"]) >= 1

        wait_until(signalled, "a signal", timeout=120, interval=0.2)
    finally:
        interrupt(proc, tmp_path / "data")
    lines = (record / "events.jsonl").read_text().splitlines()
    assert any('"CandlesLoaded"' in x for x in lines)
    assert sum('"KlineReceived"' in x for x in lines) > 20
    assert any('"SignalGenerated"' in x for x in lines)
    r = subprocess.run(
        [sys.executable, "-m", "avd", "replay", str(record)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identical" in r.stdout
