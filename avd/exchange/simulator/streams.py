"""Market streams: ``/ws/<name>`` (raw) and ``/stream?streams=a/b`` (combined).

The replay publishes each step's payloads once per stream name, encoded once
with orjson; a combined connection wraps the same bytes as
``{"stream", "data"}``. Each connection has its own backlog and writer task;
the replay waits while a backlog is above ``queue_limit`` (backpressure) and
drops a connection that does not drain within ``slow_consumer_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .numbers import fmt_units
from .series import K_C, K_CLOSE_TIME, K_H, K_L, K_N, K_O, K_OPEN_TIME, K_Q, K_TBB, K_TBQ, K_V

if TYPE_CHECKING:
    from .market import SymbolMarket, Tick
    from .runtime import Simulator

log = logging.getLogger(__name__)


class Conn:
    """One market-stream connection."""

    def __init__(self, ws: WebSocket, combined: bool, hub: StreamHub) -> None:
        self.ws = ws
        self.combined = combined
        self.hub = hub
        self.names: set[str] = set()
        self.backlog: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.drained = asyncio.Event()
        self.drained.set()
        self.closed = False
        self.sent = 0

    def push(self, name: str, data: bytes) -> None:
        """Queue one message of stream ``name``."""
        if self.combined:
            data = b'{"stream":"' + name.encode() + b'","data":' + data + b"}"
        self.backlog.append(data)
        if len(self.backlog) > self.hub.limit:
            self.drained.clear()
        self.ready.set()

    def send_json(self, obj: Any) -> None:
        """Queue a control reply."""
        self.backlog.append(orjson.dumps(obj))
        self.ready.set()

    async def writer(self) -> None:
        """Send the backlog until the connection closes."""
        faults = self.hub.sim.faults
        try:
            while not self.closed:
                if not self.backlog:
                    self.drained.set()
                    self.ready.clear()
                    await self.ready.wait()
                    continue
                data = self.backlog.popleft()
                if faults.delay_s:
                    await asyncio.sleep(faults.delay_s)
                await self.ws.send_text(data.decode())
                self.sent += 1
                drop_after = faults.state.drop_after_messages
                if drop_after and self.sent >= drop_after:
                    faults.state.drop_after_messages = 0
                    await self.close(1001)
                    return
                if len(self.backlog) <= self.hub.limit // 2:
                    self.drained.set()
        except Exception:  # the peer went away mid-send
            self.closed = True
        finally:
            self.drained.set()

    async def close(self, code: int = 1000) -> None:
        """Close the connection (a drop, for the client)."""
        if self.closed:
            return
        self.closed = True
        self.ready.set()
        with contextlib.suppress(Exception):
            await self.ws.close(code)


class StreamHub:
    """Who listens to which stream."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.limit = sim.config.queue_limit
        self.subs: dict[str, set[Conn]] = {}
        self.per_symbol: dict[str, int] = {}
        self.conns: set[Conn] = set()
        self.on_change = asyncio.Event()

    def _symbol_of(self, name: str) -> str:
        return name.split("@", 1)[0]

    def subscribe(self, conn: Conn, names: list[str]) -> None:
        """Add stream names to a connection."""
        for n in names:
            if n in conn.names:
                continue
            conn.names.add(n)
            self.subs.setdefault(n, set()).add(conn)
            s = self._symbol_of(n)
            self.per_symbol[s] = self.per_symbol.get(s, 0) + 1
        self.on_change.set()

    def unsubscribe(self, conn: Conn, names: list[str]) -> None:
        """Remove stream names from a connection."""
        for n in names:
            if n not in conn.names:
                continue
            conn.names.discard(n)
            subs = self.subs.get(n)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.subs[n]
            s = self._symbol_of(n)
            self.per_symbol[s] -= 1
            if self.per_symbol[s] <= 0:
                del self.per_symbol[s]

    def publish(self, name: str, data: bytes) -> None:
        """Send ``data`` to every subscriber of ``name``."""
        for c in self.subs.get(name, ()):
            c.push(name, data)

    async def backpressure(self) -> None:
        """Wait until every backlog is under the limit; drop who stays above it."""
        for c in list(self.conns):
            if c.drained.is_set() or c.closed:
                continue
            try:
                await asyncio.wait_for(
                    c.drained.wait(), timeout=self.sim.config.slow_consumer_timeout_s
                )
            except TimeoutError:
                log.warning("dropping a stream connection that does not read")
                await c.close(1008)

    async def drop_all(self) -> int:
        """Close every stream connection; how many."""
        conns = list(self.conns)
        for c in conns:
            await c.close(1001)
        return len(conns)

    # -- payloads ------------------------------------------------------

    def publish_tick(self, sm: SymbolMarket, tick: Tick, event_ms: int) -> None:
        """Encode and publish what one step did to one symbol."""
        sym = sm.symbol.lower()
        if sym not in self.per_symbol:
            return
        subs = self.subs
        s = sm.symbol
        name = f"{sym}@kline_{sm.series.interval}"
        if name in subs:
            k = tick.kline
            self.publish(
                name,
                orjson.dumps(
                    {
                        "e": "kline",
                        "E": event_ms,
                        "s": s,
                        "k": {
                            "t": k[K_OPEN_TIME],
                            "T": k[K_CLOSE_TIME],
                            "s": s,
                            "i": sm.series.interval,
                            "f": tick.first_trade,
                            "L": tick.last_trade,
                            "o": fmt_units(k[K_O]),
                            "c": fmt_units(k[K_C]),
                            "h": fmt_units(k[K_H]),
                            "l": fmt_units(k[K_L]),
                            "v": fmt_units(k[K_V]),
                            "n": k[K_N],
                            "x": tick.closed,
                            "q": fmt_units(k[K_Q]),
                            "V": fmt_units(k[K_TBB]),
                            "Q": fmt_units(k[K_TBQ]),
                            "B": "0",
                        },
                    }
                ),
            )
        a = tick.agg
        if a is not None:
            name = f"{sym}@aggTrade"
            if name in subs:
                self.publish(
                    name,
                    orjson.dumps(
                        {
                            "e": "aggTrade",
                            "E": event_ms,
                            "s": s,
                            "a": a.a,
                            "p": fmt_units(a.p),
                            "q": fmt_units(a.q),
                            "f": a.f,
                            "l": a.l,
                            "T": a.t,
                            "m": a.m,
                            "M": True,
                        }
                    ),
                )
            name = f"{sym}@trade"
            if name in subs:
                self.publish(
                    name,
                    orjson.dumps(
                        {
                            "e": "trade",
                            "E": event_ms,
                            "s": s,
                            "t": a.l,
                            "p": fmt_units(a.p),
                            "q": fmt_units(a.q),
                            "T": a.t,
                            "m": a.m,
                            "M": True,
                        }
                    ),
                )
        book = sm.book
        uid = sm.update_id
        name = f"{sym}@bookTicker"
        if name in subs:
            b, bq, ak, aq = book.top()
            self.publish(
                name,
                orjson.dumps(
                    {
                        "u": uid,
                        "s": s,
                        "b": fmt_units(b),
                        "B": fmt_units(bq),
                        "a": fmt_units(ak),
                        "A": fmt_units(aq),
                    }
                ),
            )
        diff_names = [
            n for n in (f"{sym}@depth", f"{sym}@depth@100ms", f"{sym}@depth@1000ms") if n in subs
        ]
        # the depth_gap fault withholds one diff: its update ids never reach the client
        if diff_names and not self.sim.faults.take("depth_gap"):
            data = orjson.dumps(
                {
                    "e": "depthUpdate",
                    "E": event_ms,
                    "s": s,
                    "U": tick.first_update,
                    "u": tick.last_update,
                    "b": [[fmt_units(p), fmt_units(q)] for p, q in tick.bids],
                    "a": [[fmt_units(p), fmt_units(q)] for p, q in tick.asks],
                }
            )
            for n in diff_names:
                self.publish(n, data)
        for lv in (5, 10, 20):
            for suffix in ("", "@100ms", "@1000ms"):
                name = f"{sym}@depth{lv}{suffix}"
                if name in subs:
                    bids, asks = book.sides(lv)
                    self.publish(
                        name,
                        orjson.dumps(
                            {
                                "lastUpdateId": uid,
                                "bids": [[fmt_units(p), fmt_units(q)] for p, q in bids],
                                "asks": [[fmt_units(p), fmt_units(q)] for p, q in asks],
                            }
                        ),
                    )
        for name, mini in ((f"{sym}@ticker", False), (f"{sym}@miniTicker", True)):
            if name in subs:
                self.publish(name, orjson.dumps(self.sim.ticker_event(sm, event_ms, mini)))


async def serve_stream(ws: WebSocket, hub: StreamHub, names: list[str], combined: bool) -> None:
    """Run one market-stream connection until it closes."""
    await ws.accept()
    conn = Conn(ws, combined, hub)
    hub.conns.add(conn)
    hub.subscribe(conn, [n for n in names if n])
    writer = asyncio.create_task(conn.writer())
    cut = asyncio.get_running_loop().call_later(
        hub.sim.config.max_connection_s, lambda: asyncio.ensure_future(conn.close(1000))
    )
    try:
        while not conn.closed:
            raw = await ws.receive_text()
            try:
                msg = orjson.loads(raw)
                method, mid = msg.get("method"), msg.get("id")
                params = [str(p) for p in msg.get("params") or []]
            except (orjson.JSONDecodeError, AttributeError):
                conn.send_json({"error": {"code": 3, "msg": "Invalid JSON"}})
                continue
            if method == "SUBSCRIBE":
                hub.subscribe(conn, params)
                conn.send_json({"result": None, "id": mid})
            elif method == "UNSUBSCRIBE":
                hub.unsubscribe(conn, params)
                conn.send_json({"result": None, "id": mid})
            elif method == "LIST_SUBSCRIPTIONS":
                conn.send_json({"result": sorted(conn.names), "id": mid})
            else:
                conn.send_json({"error": {"code": 1, "msg": "Unknown method"}, "id": mid})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        cut.cancel()
        conn.closed = True
        conn.ready.set()
        hub.unsubscribe(conn, list(conn.names))
        hub.conns.discard(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
