"""The simulator's Starlette app, and ways to run it (alone, or in a background thread)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from avd.net import free_port

from .config import SimConfig
from .errors import BinanceError
from .futures_data import futures_data_routes
from .rest import error_response, json_response, routes
from .runtime import Simulator
from .streams import serve_stream


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return dict(request.query_params)
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise BinanceError(-1100, "The body must be a JSON object.")
    return data


def _admin_routes(sim: Simulator) -> list[Route]:
    async def state(request: Request) -> Response:
        return json_response(sim.state())

    async def pause(request: Request) -> Response:
        sim.paused = True
        sim.wake()
        return json_response(sim.state())

    async def resume(request: Request) -> Response:
        sim.paused = False
        sim.wake()
        return json_response(sim.state())

    async def step(request: Request) -> Response:
        body = await _body(request)
        n = int(body.get("n", 1))
        done = await sim.step(max(n, 0))
        return json_response({**sim.state(), "stepped": done})

    async def speed(request: Request) -> Response:
        body = await _body(request)
        value = float(body.get("speed", sim.speed))
        if value < 0:
            raise BinanceError(-1100, "speed must be >= 0")
        sim.speed = value
        sim.wake()
        return json_response(sim.state())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            try:
                sim.faults.update(body)
            except ValidationError as exc:
                raise BinanceError(-1100, str(exc).splitlines()[0]) from None
        return json_response(sim.faults.state.model_dump(mode="json"))

    async def drop(request: Request) -> Response:
        body = await _body(request)
        what = body.get("what", "all")
        if what not in ("all", "market", "user"):
            raise BinanceError(-1100, "what must be all, market or user")
        market = await sim.hub.drop_all() if what in ("all", "market") else 0
        user = await sim.users.drop_all() if what in ("all", "user") else 0
        return json_response({"dropped": market + user, "market": market, "user": user})

    async def book(request: Request) -> Response:
        return json_response(sim.book_view(request.query_params.get("symbol", "").upper()))

    return [
        Route("/sim/admin/state", state, methods=["GET"]),
        Route("/sim/admin/book", book, methods=["GET"]),
        Route("/sim/admin/pause", pause, methods=["POST"]),
        Route("/sim/admin/resume", resume, methods=["POST"]),
        Route("/sim/admin/step", step, methods=["POST"]),
        Route("/sim/admin/speed", speed, methods=["POST"]),
        Route("/sim/admin/faults", faults, methods=["GET", "POST"]),
        Route("/sim/admin/drop", drop, methods=["POST"]),
    ]


def create_app(config: SimConfig | None = None, sim: Simulator | None = None) -> Starlette:
    """The simulator as a Starlette app; its lifespan runs the replay.

    The :class:`Simulator` is at ``app.state.sim``.
    """
    sim = sim or Simulator(config or SimConfig())

    async def ws_raw(ws: WebSocket) -> None:
        names = ws.path_params.get("names", "")
        await serve_stream(ws, sim.hub, [n for n in names.split("/") if n], combined=False)

    async def ws_bare(ws: WebSocket) -> None:
        await serve_stream(ws, sim.hub, [], combined=False)

    async def ws_combined(ws: WebSocket) -> None:
        names = ws.query_params.get("streams", "")
        await serve_stream(ws, sim.hub, [n for n in names.split("/") if n], combined=True)

    async def ws_api(ws: WebSocket) -> None:
        await sim.users.serve(ws)

    async def binance_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BinanceError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        msg = "Not found." if exc.status_code == 404 else str(exc.detail)
        return json_response({"code": -1000 - exc.status_code % 100, "msg": msg}, exc.status_code)

    async def unexpected(request: Request, exc: Exception) -> Response:
        return json_response(
            {"code": -1000, "msg": "An unknown error occurred while processing the request."}, 500
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sim.start()
        try:
            yield
        finally:
            await sim.stop()

    app = Starlette(
        routes=[
            *routes(sim),
            *futures_data_routes(sim),
            *_admin_routes(sim),
            WebSocketRoute("/ws", ws_bare),
            WebSocketRoute("/ws/{names:path}", ws_raw),
            WebSocketRoute("/stream", ws_combined),
            WebSocketRoute("/ws-api/v3", ws_api),
        ],
        exception_handlers={
            BinanceError: binance_error,
            HTTPException: http_error,
            Exception: unexpected,
        },
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app


def uvicorn_config(app: Starlette, config: SimConfig, port: int | None = None) -> uvicorn.Config:
    """Uvicorn settings: loopback, uvloop, websockets with Binance's ping cadence."""
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port if port is None else port,
        loop="uvloop",
        ws="websockets-sansio",
        ws_ping_interval=config.ping_interval_s,
        ws_ping_timeout=config.ping_timeout_s,
        # Binance streams are not compressed; deflate would cost both ends CPU
        ws_per_message_deflate=False,
        log_level="warning",
        lifespan="on",
    )


def serve(config: SimConfig) -> None:
    """Run the simulator until interrupted."""
    app = create_app(config)
    uvicorn.Server(uvicorn_config(app, config)).run()


class BackgroundSimulator:
    """The simulator on its own uvloop thread (for tests and sync callers).

    >>> with BackgroundSimulator(SimConfig(speed=60)) as sim:  # doctest: +SKIP
    ...     sim.address  # "127.0.0.1:PORT"
    """

    def __init__(self, config: SimConfig, port: int | None = None) -> None:
        self.config = config
        self.port = port or (config.port if config.port else free_port())
        self.app = create_app(config)
        self.sim: Simulator = self.app.state.sim
        self.server = uvicorn.Server(uvicorn_config(self.app, config, self.port))
        self.thread = threading.Thread(target=self.server.run, name="avd-sim", daemon=True)

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.config.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundSimulator:
        """Start and wait until the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` (sync) or await it (coroutine function) on the server's loop."""
        loop = self._loop()

        async def run() -> Any:
            res = fn()
            if asyncio.iscoroutine(res):
                res = await res
            return res

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    def _loop(self) -> asyncio.AbstractEventLoop:
        task = self.sim._task
        if task is None:
            raise RuntimeError("the simulator is not running")
        return task.get_loop()

    def __enter__(self) -> BackgroundSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(config: SimConfig) -> Iterator[BackgroundSimulator]:
    """``with running(cfg) as bg: ...`` — a simulator on a background thread."""
    bg = BackgroundSimulator(config).start()
    try:
        yield bg
    finally:
        bg.stop()
