"""``avd sim --ticks``: the real recording replayed to the unmodified python-binance client.

The references are read from the recording with ``gzip`` and ``json`` here:
the messages in file order, and the book built by the data README's
procedure (the snapshot line, then every diff with ``u > lastUpdateId`` in
file order). The client side follows Binance's procedure
(``depth_reference.py``) over python-binance's socket manager and REST client.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.net import free_port
from tests.exchange.simulator.conftest import Sim, run
from tests.exchange.simulator.depth_reference import Follower, side
from tests.polling import until, wait_http_ok

STREAMS = ["btcusdt@depth@100ms", "btcusdt@trade", "btcusdt@bookTicker"]


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Path:
    return shared_data / "ticks" / "BTCUSDT-spot-ws-2024-08-08.txt.gz"


@pytest.fixture(scope="module")
def recorded(recording: Path) -> dict[str, Any]:
    """The messages in file order, the snapshot, and the book by the README's procedure."""
    messages: list[tuple[str, dict[str, Any]]] = []
    snapshot: dict[str, Any] | None = None
    with gzip.open(recording, "rt") as fh:
        for line in fh:
            msg = json.loads(line.split(" ", 1)[1])
            if "stream" in msg:
                messages.append((msg["stream"], msg["data"]))
            else:
                snapshot = msg
    assert snapshot is not None
    bids, asks = side(snapshot["bids"]), side(snapshot["asks"])
    last = snapshot["lastUpdateId"]
    for name, d in messages:
        if name.endswith("@depth@100ms") and d["u"] > last:
            for book, levels in ((bids, d["b"]), (asks, d["a"])):
                for p, q in levels:
                    if Decimal(q) == 0:
                        book.pop(Decimal(p), None)
                    else:
                        book[Decimal(p)] = Decimal(q)
            last = d["u"]
    return {"messages": messages, "snapshot": snapshot, "bids": bids, "asks": asks, "last": last}


@pytest.fixture
def tick_sim(recording: Path) -> Iterator[Sim]:
    bg = BackgroundSimulator(SimConfig(ticks=recording, port=0, paused=True, speed=0)).start()
    sim = Sim(bg)
    try:
        yield sim
    finally:
        sim.http.close()
        bg.stop()


def test_replay_yields_the_recorded_messages_and_book(
    tick_sim: Sim, recorded: dict[str, Any]
) -> None:
    async def go() -> dict[str, Any]:
        c = await tick_sim.create()
        bsm = tick_sim.client.socket_manager(c, max_queue_size=1_000_000)

        async def snapshot() -> dict[str, Any]:
            return await c.get_order_book(symbol="BTCUSDT", limit=5000)  # type: ignore[no-any-return]

        try:
            # before the snapshot's receive time: the recorded snapshot itself
            early = await c.get_order_book(symbol="BTCUSDT", limit=1000)
            follower = Follower(snapshot)
            got: list[tuple[str, dict[str, Any]]] = []
            async with bsm.multiplex_socket(STREAMS) as sock:
                await until(
                    lambda: tick_sim.http.get("/sim/admin/state").json()["stream_connections"],
                    "the stream connection",
                )
                await asyncio.to_thread(tick_sim.admin, "resume")
                while len(got) < len(recorded["messages"]):
                    msg = await asyncio.wait_for(sock.recv(), 30)
                    assert msg.get("e") != "error", msg
                    got.append((msg["stream"], msg["data"]))
                    if msg["data"].get("e") == "depthUpdate":
                        await follower.on_event(msg["data"])
            late = await c.get_order_book(symbol="BTCUSDT", limit=5000)
            return {"early": early, "got": got, "follower": follower, "late": late}
        finally:
            await c.close_connection()

    out = run(go(), timeout=240)
    snap = recorded["snapshot"]
    assert out["early"] == snap  # 1000 levels, lastUpdateId 50093239218
    assert out["got"] == recorded["messages"]  # every message, in file order
    f: Follower = out["follower"]
    assert f.gaps == 0
    assert f.last == recorded["last"]
    assert f.bids == recorded["bids"] and f.asks == recorded["asks"]
    late = out["late"]  # after the end: the simulator's own book at the last diff
    assert late["lastUpdateId"] == recorded["last"]
    assert side(late["bids"]) == recorded["bids"] and side(late["asks"]) == recorded["asks"]
    last_ticker = next(d for n, d in reversed(recorded["messages"]) if n.endswith("@bookTicker"))
    bt = tick_sim.http.get("/api/v3/ticker/bookTicker", params={"symbol": "BTCUSDT"}).json()
    assert bt == {
        "symbol": "BTCUSDT",
        "bidPrice": last_ticker["b"],
        "bidQty": last_ticker["B"],
        "askPrice": last_ticker["a"],
        "askQty": last_ticker["A"],
    }
    admin = tick_sim.http.get("/sim/admin/book", params={"symbol": "BTCUSDT"}).json()
    assert side(admin["bids"]) == recorded["bids"] and admin["lastUpdateId"] == recorded["last"]
    assert tick_sim.http.get("/sim/admin/state").json()["ticks"]["finished"] is True


def test_trades_also_go_out_as_one_trade_aggregates(
    tick_sim: Sim, recorded: dict[str, Any]
) -> None:
    first = 40  # recorded lines stepped (the snapshot line is one of them)
    trades = [d for name, d in recorded["messages"][: first - 1] if name == "btcusdt@trade"]

    async def go() -> list[dict[str, Any]]:
        c = await tick_sim.create()
        bsm = tick_sim.client.socket_manager(c)
        try:
            async with bsm.aggtrade_socket("BTCUSDT") as sock:
                await until(
                    lambda: tick_sim.http.get("/sim/admin/state").json()["stream_connections"],
                    "the stream connection",
                )
                await asyncio.to_thread(tick_sim.admin, "step", n=first)
                return [await asyncio.wait_for(sock.recv(), 30) for _ in trades]
        finally:
            await c.close_connection()

    aggs = run(go())
    assert trades
    for t, a in zip(trades, aggs, strict=True):
        assert a["e"] == "aggTrade" and a["a"] == a["f"] == a["l"] == t["t"]
        assert (a["p"], a["q"], a["T"], a["m"]) == (t["p"], t["q"], t["T"], t["m"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such recording file"),
        (b"1723161253937085768 not json\n", ":1: not '<receive time ns> <JSON message>'"),
        (b'1 {"x": 1}\n', ":1: neither a stream message nor a depth snapshot"),
    ],
)
def test_a_bad_recording_is_a_one_line_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "rec.txt"
    if content is not None:
        path.write_bytes(content)
    avd = Path(sys.executable).with_name("avd")
    proc = subprocess.run(
        [str(avd), "sim", "--ticks", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_avd_sim_ticks_serves_the_recording(recording: Path, recorded: dict[str, Any]) -> None:
    """The command: at speed 0 nothing is sent before a consumer connects, and the REST
    snapshot is the recorded one."""
    port = free_port()
    avd = Path(sys.executable).with_name("avd")
    proc = subprocess.Popen(
        [str(avd), "sim", "--ticks", str(recording), "--port", str(port), "--speed", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{base}/api/v3/ping", "avd sim --ticks", proc=proc, timeout=60)
        ticks = httpx.get(f"{base}/sim/admin/state", timeout=5).json()["ticks"]
        assert ticks["symbol"] == "BTCUSDT" and ticks["sent"] == 0
        assert ticks["lines"] == len(recorded["messages"]) + 1
        depth = httpx.get(
            f"{base}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5}, timeout=5
        ).json()
        snap = recorded["snapshot"]
        assert depth == {
            "lastUpdateId": snap["lastUpdateId"],
            "bids": snap["bids"][:5],
            "asks": snap["asks"][:5],
        }
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()
