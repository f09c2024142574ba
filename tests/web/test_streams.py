"""The live streams of a real ``avd run``: who gets which events, and refusals.

``/stream`` is public and carries market events only; a client's trade
events go to that client alone, over ``/trades/stream`` with its token.
Before the fix an unknown ``types`` value (even the typo ``signals``)
subscribed an anonymous client to every hub event, other clients' trades
included; refusals closed before the handshake, so a real client got an
HTTP 403 and no reason; frames were binary.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.runtime.conftest import RunningPlatform, start_platform

MARKET_TYPES = {"ContextScoreCalculated", "SignalGenerated", "KlineReceived"}
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    # at 60x a 1m candle closes every second: market events keep coming
    p = start_platform(
        tmp_path_factory.mktemp("streams"), "--symbols", "BTCUSDT,ETHUSDT", "--speed", "60"
    )
    try:
        yield p
    finally:
        p.stop(signal.SIGINT)


async def _refusal(url: str, **kw: Any) -> tuple[int, str, list[Any]]:
    """Connect and read until closed: the close code, its reason, and any frames before it."""
    frames: list[Any] = []
    async with websockets.connect(url, **kw) as ws:
        try:
            async with asyncio.timeout(10):
                while True:
                    frames.append(await ws.recv())
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return exc.rcvd.code, exc.rcvd.reason, frames
    raise AssertionError("unreachable")


def test_an_unknown_type_is_refused_with_a_close_code_and_a_reason(
    platform: RunningPlatform,
) -> None:
    code, reason, frames = asyncio.run(_refusal(f"{platform.ws}/stream?types=signals"))
    assert (code, frames) == (4400, [])
    assert "'signals'" in reason
    assert "candle, context, flow, signal" in reason
    # trade events are not on the public stream: the reason says where they are
    code, reason, frames = asyncio.run(_refusal(f"{platform.ws}/stream?types=context,trade"))
    assert (code, frames) == (4400, [])
    assert "'trade'" in reason and "/trades/stream" in reason
    # a mistyped parameter is refused too, not ignored
    code, reason, frames = asyncio.run(_refusal(f"{platform.ws}/stream?type=signal"))
    assert (code, frames) == (4400, [])
    assert "'type'" in reason


def test_the_trade_stream_refuses_a_missing_or_bad_token_with_a_close_code(
    platform: RunningPlatform,
) -> None:
    _, token = platform.client("refused@example.com")
    code, reason, frames = asyncio.run(_refusal(f"{platform.ws}/trades/stream"))
    assert (code, frames) == (4401, []) and "token" in reason
    code, _, frames = asyncio.run(_refusal(f"{platform.ws}/trades/stream?token=not-a-token"))
    assert (code, frames) == (4401, [])
    code, reason, frames = asyncio.run(
        _refusal(f"{platform.ws}/trades/stream?token={token}&types=trades")
    )
    assert (code, frames) == (4400, []) and "'trades'" in reason


def _execute(p: RunningPlatform, token: str, symbol: str) -> dict[str, Any]:
    r = httpx.post(
        f"{p.url}/trades/execute",
        json={"symbol": symbol, "side": "BUY", "type": "MARKET", "quote_amount": "50"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


#: the Python type of every frame received (str for a text frame, bytes for binary)
FRAME_KINDS: list[type] = []


async def _next_event(ws: Any) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), 20)
    FRAME_KINDS.append(type(frame))
    return orjson.loads(frame)  # type: ignore[no-any-return]


def _newest(p: RunningPlatform) -> tuple[dict[str, int], dict[str, int]]:
    """Per symbol, the newest scored candle's close time and the newest stored candle's open."""
    ctx = httpx.get(f"{p.url}/symbols/contexts", timeout=10).json()["contexts"]
    scored = {c["symbol"]: c["timestamp"] for c in ctx}
    stored = {}
    for s in scored:
        r = httpx.get(f"{p.url}/symbols/{s}/candles", params={"limit": 1}, timeout=10)
        stored[s] = r.json()["candles"][-1]["open_time"]
    return scored, stored


def _later(e: dict[str, Any], scored: dict[str, int], stored: dict[str, int]) -> bool:
    if e["type"] == "ContextScoreCalculated":
        return bool(e["timestamp"] > scored[e["symbol"]])
    if e["type"] == "KlineReceived":
        return bool(e["open_time"] >= stored[e["symbol"]] + 2 * MINUTE_MS)
    return False


async def _read_past(ws: Any, scored: dict[str, int], stored: dict[str, int]) -> list[dict]:
    """Every event until one that was surely published after ``_newest`` was asked.

    A context newer than the newest scored one was computed afterwards; a
    closed candle two past the newest stored one was published after the
    one past it was stored. Each stream delivers in publish order, so any
    event published before (another client's trade, say) comes before it.
    """
    got: list[dict] = []
    async with asyncio.timeout(30):
        while True:
            e = await _next_event(ws)
            got.append(e)
            if _later(e, scored, stored):
                return got


async def _until(ws: Any, kind: str, trade_id: int) -> list[dict[str, Any]]:
    """A trade stream's events up to ``kind`` of ``trade_id`` (stop moves may come before)."""
    got: list[dict[str, Any]] = []
    while not got or (got[-1]["type"], got[-1].get("trade_id")) != (kind, trade_id):
        got.append(await _next_event(ws))
    return got


def _close(p: RunningPlatform, token: str, trade_id: int) -> None:
    r = httpx.post(
        f"{p.url}/trades/{trade_id}/close",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


def test_trade_events_reach_only_their_owner(platform: RunningPlatform) -> None:
    a_id, a_token = platform.client("alice@example.com")
    b_id, b_token = platform.client("bob@example.com")
    ws = platform.ws

    async def main() -> None:
        async with (
            websockets.connect(
                f"{ws}/trades/stream", additional_headers={"Authorization": f"Bearer {a_token}"}
            ) as alice,
            websockets.connect(f"{ws}/trades/stream?token={b_token}") as bob,
            # anonymous, with the default types, with candles only, with every market type
            websockets.connect(f"{ws}/stream") as default,
            websockets.connect(f"{ws}/stream?types=candle") as candles,
            websockets.connect(f"{ws}/stream?types=context,signal,candle") as market,
        ):
            mine = await asyncio.to_thread(_execute, platform, a_token, "BTCUSDT")
            alice_saw = await _until(alice, "TradePlaced", mine["id"])
            placed = alice_saw[-1]
            assert (placed["client_id"], placed["symbol"], placed["quantity"]) == (
                a_id,
                "BTCUSDT",
                mine["quantity"],
            )
            # Alice's trade is out before Bob trades: were it leaking, Bob would see it first
            his = await asyncio.to_thread(_execute, platform, b_token, "ETHUSDT")
            bob_saw = await _until(bob, "TradePlaced", his["id"])
            await asyncio.to_thread(_close, platform, a_token, mine["id"])
            alice_saw += await _until(alice, "TradeClosed", mine["id"])
            await asyncio.to_thread(_close, platform, b_token, his["id"])
            bob_saw += await _until(bob, "TradeClosed", his["id"])
            assert {e["client_id"] for e in alice_saw} == {a_id}
            assert {e["client_id"] for e in bob_saw} == {b_id}
            assert {e["trade_id"] for e in bob_saw} == {his["id"]}

            # the anonymous streams, read past every trade event above: market events only
            scored, stored = await asyncio.to_thread(_newest, platform)
            seen = {
                "default": await _read_past(default, scored, stored),
                "candle": await _read_past(candles, scored, stored),
                "market": await _read_past(market, scored, stored),
            }
            for name, events in seen.items():
                assert all("client_id" not in e for e in events), name
                assert {e["type"] for e in events} <= MARKET_TYPES, name
            assert {e["type"] for e in seen["default"]} <= {
                "ContextScoreCalculated",
                "SignalGenerated",
            }
            assert {e["type"] for e in seen["candle"]} == {"KlineReceived"}
            # candles on the stream are closed ones only
            assert all(e["closed"] for e in seen["candle"])

    FRAME_KINDS.clear()
    asyncio.run(main())
    # every frame, on every stream, is JSON text
    assert set(FRAME_KINDS) == {str}
