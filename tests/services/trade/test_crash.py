"""SIGKILL `avd run` with positions open during a replay, restart it: nothing lost.

The platform runs paper trading (its default). After the kill and a restart on
the same data folder every open position is back, with its stop in the stop
tracker, and no order was placed again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import httpx

from tests.runtime.test_platform_run import free_port

PASSWORD = "correct horse battery staple"


def start(folder: Path, port: int) -> subprocess.Popen[str]:
    cfg = folder / "avd.json"
    cfg.write_text(
        '{"client": {"argon2": {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}},'
        ' "market": {"symbols": ["BTCUSDT", "ETHUSDT"], "warmup_bars": 60}}'
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avd",
            "run",
            "--config",
            str(cfg),
            "--port",
            str(port),
            "--speed",
            "60",
        ],
        cwd=folder,
        env={**os.environ, "AVD_DATA_DIR": str(folder)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, "avd run exited"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the platform did not come up"
        time.sleep(0.3)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_sigkill_with_open_positions_then_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            r = c.post("/auth/register", json={"email": "crash@example.com", "password": PASSWORD})
            assert r.status_code == 201, r.text
            r = c.post("/auth/login", json={"email": "crash@example.com", "password": PASSWORD})
            token = r.json()["access_token"]
            c.headers["Authorization"] = f"Bearer {token}"
            r = c.post("/client/deposit", json={"amount": "1000", "idempotency_key": "d-1"})
            assert r.status_code in (200, 201), r.text
            r = c.patch(
                "/client/parameters",
                json={"max_open_positions": 5, "stops": {"stop_loss_percent": "20"}},
            )
            assert r.status_code == 200, r.text
            ids = []
            for body in (
                {"symbol": "BTCUSDT", "side": "BUY", "quote_amount": "100"},
                {
                    "symbol": "ETHUSDT",
                    "side": "BUY",
                    "quote_amount": "100",
                    "trailing_percent": "10",
                },
            ):
                r = c.post("/trades/execute", json=body)
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            time.sleep(2)  # the replay goes on: stops may trail
            before = {t["id"]: t for t in c.get("/trades/active").json()["trades"]}
            assert sorted(before) == sorted(ids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    proc = start(tmp_path, port)
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            c.headers["Authorization"] = f"Bearer {token}"
            after = {t["id"]: t for t in c.get("/trades/active").json()["trades"]}
            assert sorted(after) == sorted(ids)  # no position lost
            for i in ids:
                a, b = after[i], before[i]
                assert a["status"] == "open"
                assert Dec(a["quantity"]) == Dec(b["quantity"])
                assert Dec(a["entry_price"]) == Dec(b["entry_price"])
                assert a["tracked_stop"] is not None  # restored into the stop tracker
                assert Dec(a["tracked_stop"]) >= Dec(b["stop_loss"])  # never loosened
            history = c.get("/trades/history").json()["trades"]
            assert sorted(t["id"] for t in history) == sorted(ids)
            st = c.get("/risk/status").json()
            assert st["open_positions"] == 2
            db = sqlite3.connect(tmp_path / "client.db")
            try:
                rows: list[Any] = db.execute(
                    "SELECT trade_id, purpose, client_order_id FROM trade_orders ORDER BY id"
                ).fetchall()
            finally:
                db.close()
            # one entry order per trade, none placed again by the recovery
            assert [(r[0], r[1]) for r in rows] == [(i, "entry") for i in ids]
            assert len({r[2] for r in rows}) == len(rows)
            r = c.post(f"/trades/{ids[0]}/close")
            assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    finally:
        stop(proc)
