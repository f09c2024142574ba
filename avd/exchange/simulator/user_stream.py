"""The WebSocket API at ``/ws-api/v3``: user data stream subscriptions, ping, time.

``userDataStream.subscribe.signature`` checks the key, the HMAC over the
other params sorted by name and the timestamp; events then arrive as
``{"subscriptionId", "event"}``. Subscriptions die with their connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .auth import account_for, check_timing, sign
from .errors import BinanceError
from .matching import now_ms

if TYPE_CHECKING:
    from .runtime import Simulator


class ApiConn:
    """One WebSocket API connection."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.subs: dict[int, str] = {}
        self.ids = itertools.count(0)

    async def writer(self) -> None:
        """Send queued replies and events."""
        while True:
            data = await self.queue.get()
            await self.ws.send_text(data.decode())


class UserStreams:
    """Routes user-data events to the subscribed connections."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.conns: set[ApiConn] = set()
        sim.matcher.listeners.append(self.dispatch)

    async def drop_all(self) -> int:
        """Close every WebSocket API connection (their subscriptions die with them)."""
        conns = list(self.conns)
        for c in conns:
            await c.ws.close(1001)
        return len(conns)

    def dispatch(self, api_key: str, event: dict[str, Any]) -> None:
        """Deliver one account event."""
        for c in self.conns:
            for sid, key in c.subs.items():
                if key == api_key:
                    c.queue.put_nowait(orjson.dumps({"subscriptionId": sid, "event": event}))

    def _rate_limits(self) -> list[dict[str, Any]]:
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.sim.config.weight_limit,
                "count": 2,
            }
        ]

    def handle(self, conn: ApiConn, method: str, params: dict[str, Any]) -> Any:
        """Answer one request; raises BinanceError."""
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now_ms()}
        if method == "userDataStream.subscribe.signature":
            sp = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
            acct = account_for(self.sim.accounts, sp.get("apiKey"))
            payload = "&".join(f"{k}={sp[k]}" for k in sorted(sp) if k != "signature")
            if sign(acct.secret, payload) != sp.get("signature", "").lower():
                raise BinanceError(-1022, "Signature for this request is not valid.")
            if self.sim.faults.take("timestamp_errors"):
                raise BinanceError(
                    -1021, "Timestamp for this request is outside of the recvWindow."
                )
            check_timing(sp, now_ms())
            sid = next(conn.ids)
            conn.subs[sid] = acct.api_key
            return {"subscriptionId": sid}
        if method == "userDataStream.unsubscribe":
            which = params.get("subscriptionId")
            if which is None:
                conn.subs.clear()
            else:
                conn.subs.pop(int(which), None)
            return {}
        if method == "userDataStream.subscribe":
            raise BinanceError(-2015, "Use userDataStream.subscribe.signature.", 401)
        raise BinanceError(-1100, f"Unknown method '{method}'.")

    async def serve(self, ws: WebSocket) -> None:
        """Run one WebSocket API connection."""
        await ws.accept()
        conn = ApiConn(ws)
        self.conns.add(conn)
        writer = asyncio.create_task(conn.writer())
        try:
            while True:
                raw = await ws.receive_text()
                try:
                    msg = orjson.loads(raw)
                    mid, method = msg.get("id"), str(msg.get("method", ""))
                    params = msg.get("params") or {}
                except (orjson.JSONDecodeError, AttributeError):
                    conn.queue.put_nowait(
                        orjson.dumps(
                            {
                                "id": None,
                                "status": 400,
                                "error": {"code": -1000, "msg": "Invalid JSON."},
                            }
                        )
                    )
                    continue
                try:
                    result = self.handle(conn, method, params)
                    reply: dict[str, Any] = {
                        "id": mid,
                        "status": 200,
                        "result": result,
                        "rateLimits": self._rate_limits(),
                    }
                except BinanceError as e:
                    reply = {"id": mid, "status": e.status, "error": {"code": e.code, "msg": e.msg}}
                conn.queue.put_nowait(orjson.dumps(reply))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
