from __future__ import annotations

import asyncio
import time
from typing import Any

from binance import DepthCacheManager

from tests.exchange.simulator.conftest import Sim, run, same, source_rows


def test_kline_stream_sends_updates_then_one_closed_candle_equal_to_rest(live_sim: Sim) -> None:
    async def go() -> tuple[list[dict[str, Any]], dict[int, list[Any]]]:
        c = await live_sim.create()
        bsm = live_sim.client.socket_manager(c)
        msgs: list[dict[str, Any]] = []
        try:
            async with bsm.kline_socket("BTCUSDT", interval="1m") as s:
                deadline = time.monotonic() + 20
                while sum(m["k"]["x"] for m in msgs) < 3 and time.monotonic() < deadline:
                    m = await asyncio.wait_for(s.recv(), 10)
                    assert m.get("e") == "kline", m
                    msgs.append(m)
            rows = await c.get_klines(symbol="BTCUSDT", interval="1m", limit=1000)
        finally:
            await c.close_connection()
        return msgs, {r[0]: r for r in rows}

    msgs, rest = run(go())
    closed = [m["k"] for m in msgs if m["k"]["x"]]
    assert len(closed) == 3
    src = source_rows("BTCUSDT")
    for k in closed:
        updates = [m["k"] for m in msgs if m["k"]["t"] == k["t"]]
        assert updates[-1] is k and sum(u["x"] for u in updates) == 1  # exactly one x:true, last
        if k is not closed[0]:
            assert len(updates) == 10  # 9 in-progress updates then the close (6 s steps)
        row = rest[k["t"]]
        assert [k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"]] == [
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
        ]
        assert all(same(a, b) for a, b in zip(row[1:6], src[k["t"]][1:6], strict=True))
        assert k["L"] - k["f"] + 1 == k["n"]
    assert all(abs(m["E"] - time.time() * 1000) < 60_000 for m in msgs)  # E = send time


def test_combined_stream_wraps_each_message(live_sim: Sim) -> None:
    async def go() -> list[dict[str, Any]]:
        c = await live_sim.create()
        bsm = live_sim.client.socket_manager(c)
        out: list[dict[str, Any]] = []
        names = [
            "ethusdt@kline_1m",
            "solusdt@aggTrade",
            "btcusdt@bookTicker",
            "xrpusdt@depth5",
            "bnbusdt@ticker",
        ]
        try:
            async with bsm.multiplex_socket(names) as s:
                while {m["stream"] for m in out} != set(names) and len(out) < 200:
                    out.append(await asyncio.wait_for(s.recv(), 10))
        finally:
            await c.close_connection()
        return out

    out = run(go())
    by = {m["stream"]: m["data"] for m in out}
    assert by["ethusdt@kline_1m"]["e"] == "kline" and by["ethusdt@kline_1m"]["s"] == "ETHUSDT"
    assert by["solusdt@aggTrade"]["e"] == "aggTrade"
    assert set(by["btcusdt@bookTicker"]) == {"u", "s", "b", "B", "a", "A"}
    assert len(by["xrpusdt@depth5"]["bids"]) == 5 and "lastUpdateId" in by["xrpusdt@depth5"]
    assert by["bnbusdt@ticker"]["e"] == "24hrTicker"


def test_depth_cache_syncs_without_refetching(live_sim: Sim) -> None:
    fetches: list[int] = []

    async def go() -> tuple[Any, dict[str, Any]]:
        c = await live_sim.create()
        original = c.get_order_book

        async def counted(**kw: Any) -> Any:
            res = await original(**kw)
            fetches.append(res["lastUpdateId"])
            return res

        c.get_order_book = counted
        bsm = live_sim.client.socket_manager(c)
        try:
            async with DepthCacheManager(c, "BTCUSDT", bm=bsm, limit=100) as dcm:
                for _ in range(15):
                    dc = await asyncio.wait_for(dcm.recv(), 10)
                await asyncio.to_thread(live_sim.admin, "pause")
                # drain what was sent before the pause
                while True:
                    try:
                        dc = await asyncio.wait_for(dcm.recv(), 1.5)
                    except TimeoutError:
                        break
                snap = await original(symbol="BTCUSDT", limit=100)
                return dc, snap
        finally:
            await asyncio.to_thread(live_sim.admin, "resume")
            await c.close_connection()

    dc, snap = run(go())
    assert len(fetches) == 1  # U == lastUpdateId + 1 held for every diff
    bids = [[float(p), float(q)] for p, q in snap["bids"][:20]]
    asks = [[float(p), float(q)] for p, q in snap["asks"][:20]]
    assert dc.get_bids()[:20] == bids
    assert dc.get_asks()[:20] == asks
