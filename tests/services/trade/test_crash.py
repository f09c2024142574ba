"""SIGKILL `avd run` with positions open, restart it: nothing lost, the moved stop acts.

The platform paper-trades (its default) on candles written here, replayed one
step at a time by its simulator (paused, driven through the simulator's
admin API), so every price, and every stop, is known in advance:

* both symbols trade near 100.00 (tick 0.01); BTCUSDT and ETHUSDT are bought
  at 100.00 with a 20 % stop (80.00); the ETH trade also trails 10 %;
* step 1: ETH rises to 120.00, so its trailing stop moves to
  120.00 - 10 % = 108.00 (BTC stays put, its stop at 80.00);
* SIGKILL, restart on the same data folder: both positions are back, ETH's
  stop at 108.00, not its initial 80.00;
* step 2: ETH opens at 110.00 and falls to 100.00: the restored stop at
  108.00 closes it there. A stop restored at its initial value would trail
  from the new peak, 110.00 - 10 % = 99.00, and the trade would stay open.

No order is placed again by the recovery. (Before, the test replayed real
candles for two seconds and checked ``tracked stop >= stored stop``: when no
stop had moved, a restore that dropped the moved stop passed it too.)
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import httpx

from avd.net import free_port
from tests.polling import wait_http_ok, wait_until

PASSWORD = "correct horse battery staple"
MINUTE = 60_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")
#: candles before the replay starts: the warm-up (60) plus the 60 the platform adds
BEFORE = 120
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,trades,"
    "taker_buy_base,taker_buy_quote"
)
#: the candles of the replay, by step: (open, high, low, close)
FLAT = ("100.00", "100.30", "99.80", "100.10")
STEPS = {
    "BTCUSDT": [FLAT] * 10,
    "ETHUSDT": [
        ("100.00", "120.00", "99.90", "119.50"),  # up: open, low, high, close
        ("110.00", "110.00", "100.00", "101.00"),  # down: open, high, low, close
        *[("101.00", "101.40", "100.60", "101.20")] * 8,
    ],
}
ENTRY, INITIAL_STOP, MOVED_STOP = Dec("100.00"), Dec("80.00"), Dec("108.00")


def write_candles(folder: Path, t0: int) -> None:
    """Warm-up candles wandering around 100 (cents make the tick 0.01), the
    last closing at 100.00, then the replay's candles."""
    folder.mkdir()
    for symbol in SYMBOLS:
        rows = [HEADER]
        for i in range(BEFORE):
            o = 100 + round(0.3 * math.sin(i), 2)
            c = 100.0 if i == BEFORE - 1 else 100 + round(0.3 * math.sin(i + 1), 2)
            h, low = max(o, c) + 0.13, min(o, c) - 0.11
            rows.append(_row(t0 + i * MINUTE, (f"{o:.2f}", f"{h:.2f}", f"{low:.2f}", f"{c:.2f}")))
        for j, ohlc in enumerate(STEPS[symbol]):
            rows.append(_row(t0 + (BEFORE + j) * MINUTE, ohlc))
        (folder / f"{symbol}-1m.csv").write_text("\n".join(rows) + "\n")


def _row(open_time: int, ohlc: tuple[str, str, str, str]) -> str:
    return ",".join([str(open_time), *ohlc, "12.5", str(open_time + MINUTE - 1), "", "", "", ""])


class Run:
    """One ``avd run`` process on the folder, its simulator paused."""

    def __init__(self, folder: Path, port: int, sim_port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.sim = f"http://127.0.0.1:{sim_port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "avd", "run", "--config", str(folder / "avd.json")],
            cwd=folder,
            env={**os.environ, "AVD_DATA_DIR": str(folder)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http_ok(f"{self.url}/health", "avd run", proc=self.proc, timeout=90)

    def step(self) -> None:
        """One candle of every symbol, once the collector's stream is there to see it."""
        wait_until(
            lambda: httpx.get(f"{self.sim}/sim/admin/state").json()["stream_connections"] >= 1,
            "the collector's stream",
        )
        r = httpx.post(f"{self.sim}/sim/admin/step", json={"n": 1})
        assert r.status_code == 200 and r.json()["stepped"] == 1, r.text

    def stored(self, open_time: int) -> bool:
        """Whether every symbol's candle ``open_time`` is in the database (a read flushes)."""
        for s in SYMBOLS:
            r = httpx.get(f"{self.url}/symbols/{s}/candles", params={"limit": 5})
            candles = r.json()["candles"]
            if not candles or candles[-1]["open_time"] != open_time:
                return False
        return True

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def active(c: httpx.Client) -> dict[int, dict[str, Any]]:
    return {t["id"]: t for t in c.get("/trades/active").json()["trades"]}


def test_sigkill_with_open_positions_then_restart(tmp_path: Path) -> None:
    # dated after today: the entry is priced over REST (nothing streamed yet) and
    # stamped with the wall clock, and only candles after that move its stop
    t0 = int((datetime.now(UTC) + timedelta(days=1)).timestamp()) // 60 * MINUTE
    write_candles(tmp_path / "candles", t0)
    port, sim_port = free_port(), free_port()
    (tmp_path / "avd.json").write_text(
        json.dumps(
            {
                "port": port,
                "sim_port": sim_port,
                "client": {"argon2": {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}},
                # the replay is paused between steps: a silent stream is not a dead one
                "market": {"symbols": list(SYMBOLS), "warmup_bars": 60, "silence_timeout_s": 600},
                "sim": {"data": str(tmp_path / "candles"), "step_ms": MINUTE, "paused": True},
            }
        )
    )
    first_step = t0 + BEFORE * MINUTE

    run = Run(tmp_path, port, sim_port)
    try:
        with httpx.Client(base_url=run.url, timeout=30) as c:
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
            btc, eth = ids
            for t in active(c).values():
                assert (Dec(t["entry_price"]), Dec(t["initial_stop"])) == (ENTRY, INITIAL_STOP)

            run.step()  # ETH up to 120.00: its trailing stop moves to 108.00

            def moved() -> dict[int, dict[str, Any]] | None:
                now = active(c)
                return now if Dec(now[eth]["stop_loss"]) == MOVED_STOP else None

            # stop_loss is the stored stop: the move is in the database
            before = wait_until(moved, "ETH's stop to move to 108.00 and be stored")
            assert Dec(before[eth]["tracked_stop"]) == MOVED_STOP
            assert Dec(before[btc]["stop_loss"]) == Dec(before[btc]["tracked_stop"]) == INITIAL_STOP
            # the restart must resume after this candle, not replay it (which
            # would move the stop again whatever was restored)
            wait_until(lambda: run.stored(first_step), "the stepped candles to be stored")
    finally:
        run.kill()

    run = Run(tmp_path, port, sim_port)
    try:
        with httpx.Client(base_url=run.url, timeout=30) as c:
            c.headers["Authorization"] = f"Bearer {token}"
            after = active(c)
            assert sorted(after) == sorted(ids)  # no position lost
            for i in ids:
                a, b = after[i], before[i]
                assert a["status"] == "open"
                assert Dec(a["quantity"]) == Dec(b["quantity"])
                assert Dec(a["entry_price"]) == ENTRY
                assert Dec(a["initial_stop"]) == INITIAL_STOP
            # restored into the stop tracker where it had moved to, not where it began
            assert Dec(after[eth]["stop_loss"]) == Dec(after[eth]["tracked_stop"]) == MOVED_STOP
            assert Dec(after[btc]["tracked_stop"]) == INITIAL_STOP
            history = c.get("/trades/history").json()["trades"]
            assert sorted(t["id"] for t in history) == sorted(ids)
            assert c.get("/risk/status").json()["open_positions"] == 2
            # one entry order per trade, none placed again by the recovery
            rows = orders(tmp_path)
            assert [(r[0], r[1]) for r in rows] == [(i, "entry") for i in ids]
            assert len({r[2] for r in rows}) == len(rows)

            run.step()  # ETH opens at 110.00 and falls to 100.00

            def closed() -> dict[str, Any] | None:
                got = {t["id"]: t for t in c.get("/trades/history").json()["trades"]}
                return got[eth] if got[eth]["status"] == "closed" else None

            gone = wait_until(closed, "the restored stop to close ETH")
            assert Dec(gone["exit_price"]) == MOVED_STOP
            # closed by its stop (restored, the stop no longer knows it was a trailing one)
            assert gone["close_reason"] in ("trailing_stop", "stop_loss"), gone
            assert sorted(active(c)) == [btc]
            # the stop's exit is ETH's one order since the restart
            assert [(r[0], r[1]) for r in orders(tmp_path)] == [
                (btc, "entry"),
                (eth, "entry"),
                (eth, "exit"),
            ]
            r = c.post(f"/trades/{btc}/close")
            assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    finally:
        run.stop()


def orders(folder: Path) -> list[Any]:
    db = sqlite3.connect(folder / "client.db")
    try:
        return db.execute(
            "SELECT trade_id, purpose, client_order_id FROM trade_orders ORDER BY id"
        ).fetchall()
    finally:
        db.close()
