"""The stream pump on a real uvicorn server: slow clients, clients leaving, the server stopping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed

from avd.domain.events import SignalGenerated
from avd.net import free_port
from avd.runtime.hub import EventHub
from avd.web.server import config
from avd.web.streams import Catalogue, Streams
from tests.polling import until

SIGNALS = Catalogue(kinds={"signal": (SignalGenerated,)}, default=("signal",))


def signal(i: int) -> SignalGenerated:
    return SignalGenerated(
        symbol="BTCUSDT",
        interval="1m",
        side="BUY",
        confidence=0.75,
        reason=f"breakout {i}",
        generated_at=1_700_000_000_000 + i * 60_000,
        score=71.5,
        pattern="breakout",
        price=64_250.5,
    )


@asynccontextmanager
async def serving(hub: EventHub, streams: Streams) -> AsyncIterator[str]:
    """``/s`` streams the hub's signals through ``streams``, on a free loopback port."""

    async def endpoint(ws: WebSocket) -> None:
        await streams.pump(ws, hub, SIGNALS)

    port = free_port()
    app = Starlette(routes=[WebSocketRoute("/s", endpoint)])
    server = uvicorn.Server(config(app, "127.0.0.1", port, lifespan="off"))
    task = asyncio.create_task(server.serve())
    hub.start()
    try:
        await until(lambda: server.started, "the server to start", timeout=10)
        yield f"ws://127.0.0.1:{port}/s"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)
        await hub.stop()


def _stream_subscribers(hub: EventHub) -> list[str]:
    return [name for name in hub.stats() if name.startswith("ws:")]


async def _close_frame(ws: Any) -> tuple[list[Any], Any]:
    frames = []
    try:
        async with asyncio.timeout(10):
            while True:
                frames.append(await ws.recv())
    except ConnectionClosed as exc:
        return frames, exc.rcvd


def test_a_client_that_falls_behind_is_closed_rather_than_left_missing_events() -> None:
    async def main() -> None:
        hub, streams = EventHub(), Streams(outbox=8)
        async with serving(hub, streams) as url, websockets.connect(url) as ws:
            await until(
                lambda: _stream_subscribers(hub), "the stream's hub subscription", timeout=10
            )
            # a burst the stream cannot keep up with; the hub never waits for it
            for i in range(100):
                await hub.publish(signal(i))
            frames, close = await _close_frame(ws)
            assert close is not None and close.code == 1013
            assert "too slow" in close.reason
            # what did arrive is the start of the burst, in order, as JSON text
            assert all(isinstance(f, str) for f in frames)
            got = [orjson.loads(f)["reason"] for f in frames]
            assert got == [f"breakout {i}" for i in range(len(got))]
            assert len(got) <= 8
            await until(lambda: not _stream_subscribers(hub), "the subscription to end", timeout=10)

    asyncio.run(main())


def test_a_client_leaving_ends_its_handler_and_its_hub_subscription() -> None:
    async def main() -> None:
        hub, streams = EventHub(), Streams()
        async with serving(hub, streams) as url:
            async with websockets.connect(url):
                await until(
                    lambda: _stream_subscribers(hub) and streams.open == 1,
                    "the stream open and subscribed",
                    timeout=10,
                )
            # an idle stream: no event would ever have told the handler the client left
            await until(
                lambda: not _stream_subscribers(hub) and streams.open == 0,
                "the handler and its subscription to end",
                timeout=10,
            )

    asyncio.run(main())


def test_close_all_closes_every_stream_with_going_away_and_refuses_new_ones() -> None:
    async def main() -> None:
        hub, streams = EventHub(), Streams()
        async with serving(hub, streams) as url:
            async with websockets.connect(url) as a, websockets.connect(url) as b:
                await until(lambda: streams.open == 2, "two open streams", timeout=10)
                await streams.close_all()
                for ws in (a, b):
                    frames, close = await _close_frame(ws)
                    assert (frames, close.code, close.reason) == ([], 1001, "server shutting down")
            assert streams.open == 0 and not _stream_subscribers(hub)
            async with websockets.connect(url) as late:
                frames, close = await _close_frame(late)
                assert (frames, close.code) == ([], 1001)

    asyncio.run(main())
