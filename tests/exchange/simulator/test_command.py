from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from avd.exchange.simulator.server import free_port
from tests.polling import wait_http_ok


def test_avd_sim_command_serves_on_loopback() -> None:
    port = free_port()
    avd = Path(sys.executable).with_name("avd")
    proc = subprocess.Popen(
        [str(avd), "sim", "--port", str(port), "--speed", "0", "--start", "2026-04-20T00:00"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        r = wait_http_ok(f"http://127.0.0.1:{port}/api/v3/ping", "avd sim", proc=proc, timeout=30)
        assert r.status_code == 200 and r.json() == {}
        state = httpx.get(f"http://127.0.0.1:{port}/sim/admin/state", timeout=5).json()
        assert state["now"] == 1776643200000 and state["speed"] == 0
        assert state["steps"] == 0  # speed 0 waits for a stream consumer
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()


def test_avd_sim_on_a_folder_of_several_intervals_replays_one(shared_data: Path) -> None:
    """../shared/data holds 1m (2026), 5m (2022), 1h and 1d files: the replay
    runs at the finest interval every symbol has, from its first candle."""
    port = free_port()
    avd = Path(sys.executable).with_name("avd")
    proc = subprocess.Popen(
        [str(avd), "sim", "--data", str(shared_data), "--port", str(port), "--speed", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        state = wait_http_ok(f"{url}/sim/admin/state", "avd sim", proc=proc, timeout=60).json()
        # 2026-03-23 12:09 UTC: the first open time of the 1m files (their README)
        assert state["now"] == 1774267740000
        assert state["symbols"] == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
        r = httpx.get(
            f"{url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}, timeout=5
        )
        assert r.status_code == 200
        r = httpx.get(
            f"{url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h"}, timeout=5
        )
        assert r.json() == []  # one interval is replayed
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()
