"""``GET /symbols/{symbol}/book`` and ``/flow`` of a real ``avd run`` (offline simulator).

``market.book_symbols = ["BTCUSDT"]``: the platform's collector keeps
BTCUSDT's book and trade flow from the simulator's ``@depth@100ms`` and
``@aggTrade`` through python-binance; the routes serve them with the usual
JSON errors, ``/stream?types=flow`` pushes each closed candle's flow, the
scanner reads the live spread, and ``/flow`` carries the newest long/short
row the platform polled from the simulator's futures data endpoints.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.platform import CHEAP_ARGON2, RunningPlatform, start_avd
from tests.polling import wait_until


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    folder = tmp_path_factory.mktemp("avd-book")
    config = folder / "platform.json"
    config.write_text(
        json.dumps(
            {
                "client": {"argon2": CHEAP_ARGON2},
                "market": {
                    "book_symbols": ["BTCUSDT"],
                    "book": {"depth_bps": 25},
                    "long_short": {"enabled": True, "symbols": ["BTCUSDT"], "poll_s": 5},
                },
            }
        )
    )
    running = start_avd(
        folder, "run", "--config", str(config), "--data-dir", str(folder / "data"),
        "--speed", "60",
    )  # fmt: skip
    try:
        yield running
    finally:
        running.stop(signal.SIGINT)


def get(p: RunningPlatform, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{p.url}{path}", params=params, timeout=10)


def test_book_serves_synced_levels_and_analytics(platform: RunningPlatform) -> None:
    def synced() -> dict[str, Any] | None:
        r = get(platform, "/symbols/BTCUSDT/book", depth=5)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["state"] == "synced" and body["bids"] and body["asks"] else None

    b = wait_until(synced, lambda: f"a synced BTCUSDT book:\n{platform.output()[-3000:]}")
    assert len(b["bids"]) == len(b["asks"]) == 5
    prices = [p for p, _ in b["bids"]]
    assert prices == sorted(prices, reverse=True)
    assert [p for p, _ in b["asks"]] == sorted(p for p, _ in b["asks"])
    assert b["best_bid"] == b["bids"][0] and b["best_ask"] == b["asks"][0]
    assert b["spread"] == pytest.approx(b["best_ask"][0] - b["best_bid"][0])
    assert b["mid"] == pytest.approx((b["best_ask"][0] + b["best_bid"][0]) / 2)
    bid_q, ask_q = sum(q for _, q in b["bids"]), sum(q for _, q in b["asks"])
    assert b["imbalance"] == pytest.approx((bid_q - ask_q) / (bid_q + ask_q))
    (pb, qb), (pa, qa) = b["best_bid"], b["best_ask"]
    assert b["microprice"] == pytest.approx((pb * qa + pa * qb) / (qb + qa))
    assert b["depth_bps"] == 25
    assert b["resyncs"] >= 0 and b["gaps"] >= 0
    health = get(platform, "/health").json()["streams"]["books"]
    assert health["symbols"]["BTCUSDT"]["state"] in {"synced", "awaiting_first"}


def test_flow_serves_closed_candles_and_the_newest_long_short(platform: RunningPlatform) -> None:
    def candles() -> dict[str, Any] | None:
        r = get(platform, "/symbols/btcusdt/flow", interval="1m", limit=5)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if len(body["candles"]) >= 2 and body["long_short"] is not None else None

    f = wait_until(candles, lambda: f"closed flow candles:\n{platform.output()[-3000:]}")
    assert f["symbol"] == "BTCUSDT" and f["interval"] == "1m"
    # the newest row GET /symbols/BTCUSDT/long-short serves (or one polled just after)
    rows = get(platform, "/symbols/BTCUSDT/long-short", period="5m", limit=500).json()["rows"]
    assert f["long_short"] in rows
    assert f["long_short"]["timestamp"] >= rows[-2]["timestamp"]
    last = f["candles"][-1]
    for key in ("buy_volume", "sell_volume", "delta", "cvd", "imbalance", "vpin", "ofi", "mid"):
        assert key in last
    assert last["delta"] == pytest.approx(last["buy_volume"] - last["sell_volume"])
    assert last["close_time"] == last["open_time"] + 59_999
    assert f["cvd"] == pytest.approx(
        (f["current"] or last)["cvd"]
    )  # the running CVD is the latest candle's


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        (
            "/symbols/ETHUSDT/book",
            {},
            404,
            "ETHUSDT's order book and flow are not kept; kept: BTCUSDT",
        ),
        ("/symbols/NOPEUSDT/flow", {}, 404, "not kept"),
        ("/symbols/BTCUSDT/book", {"depth": 0}, 422, "depth"),
        ("/symbols/BTCUSDT/book", {"depth": "many"}, 422, "depth"),
        ("/symbols/BTCUSDT/book", {"depth": 5001}, 422, "depth"),
        ("/symbols/BTCUSDT/book", {"levels": 5}, 422, "levels"),
        ("/symbols/BTCUSDT/flow", {"interval": "7x"}, 400, "interval"),
        ("/symbols/BTCUSDT/flow", {"interval": "5m"}, 404, "kept per 1m, not 5m"),
        ("/symbols/BTCUSDT/flow", {"limit": 0}, 422, "limit"),
    ],
)
def test_errors_are_json(
    platform: RunningPlatform, path: str, params: dict[str, Any], status: int, needle: str
) -> None:
    r = get(platform, path, **params)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "detail"}
    assert needle in body["detail"], body


def test_openapi_lists_the_routes(platform: RunningPlatform) -> None:
    paths = get(platform, "/openapi.json").json()["paths"]
    assert "/symbols/{symbol}/book" in paths and "/symbols/{symbol}/flow" in paths


def test_the_stream_pushes_each_closed_candles_flow(platform: RunningPlatform) -> None:
    async def main() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with websockets.connect(platform.ws + "/stream?types=flow") as ws:
            while len(got) < 2:
                got.append(orjson.loads(await asyncio.wait_for(ws.recv(), 20)))
        return got

    events = asyncio.run(main())
    assert [e["type"] for e in events] == ["OrderFlowClosed"] * 2
    assert events[1]["open_time"] == events[0]["open_time"] + 60_000
    for e in events:
        flow = e["flow"]
        assert e["symbol"] == "BTCUSDT" and flow["open_time"] == e["open_time"]
        assert flow["delta"] == pytest.approx(flow["buy_volume"] - flow["sell_volume"])
    # what /flow serves for that candle, field for field
    served = get(platform, "/symbols/BTCUSDT/flow", interval="1m", limit=50).json()["candles"]
    by_open = {c["open_time"]: c for c in served}
    assert by_open[events[0]["open_time"]] == events[0]["flow"]


def test_the_scanner_reads_the_live_spread(platform: RunningPlatform) -> None:
    def rows() -> dict[str, Any] | None:
        body = get(platform, "/scanner", interval="1m", top=20).json()
        mine = {r["symbol"]: r for r in body["rows"]}
        return mine if mine.get("BTCUSDT", {}).get("spread") is not None else None

    ranked = wait_until(rows, "BTCUSDT ranked with its spread")
    book = get(platform, "/symbols/BTCUSDT/book", depth=1).json()
    # the simulator quotes one tick (0.01) wide: the spread in percent of the mid
    assert book["spread"] == pytest.approx(0.01)
    assert ranked["BTCUSDT"]["spread"] == pytest.approx(
        0.01 / ranked["BTCUSDT"]["price"] * 100, rel=0.02
    )
    # the other symbols' books are not kept
    assert all(r["spread"] is None for s, r in ranked.items() if s != "BTCUSDT")
