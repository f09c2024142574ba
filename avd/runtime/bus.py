"""The transports of the events that cross services: in process, or Redis Streams.

The hub inside a process (:class:`~avd.runtime.hub.EventHub`) is unchanged;
a transport bridges it to the other processes:

* :class:`InProcessTransport` (the default): nothing crosses, every service
  runs on the one hub of ``avd run`` (apart, the trade service takes the
  market service's ``/internal/feed`` WebSocket).
* :class:`RedisTransport` (``--bus redis://host:6379/0``): the local events of
  the crossing families are appended to Redis streams, and the streams this
  process consumes are read into its hub.

Streams (``prefix`` + family, e.g. ``avd:market``):

========  ===================================================  ==============
family    events                                               published by
========  ===================================================  ==============
market    in-progress ``KlineReceived``, ``CandleEvaluated``,  ``serve market``
          ``ContextScoreCalculated``, ``SignalGenerated``      (every shard)
trade     ``TradePlaced``, ``SLAdjusted``, ``PartialExitTaken``,  ``serve trade``
          ``TradeClosed``, ``DrawdownLimitReached``,
          ``OrderRejected``
client    ``ClientChanged`` (parameters saved, blocked,         ``serve client``
          unblocked)
========  ===================================================  ==============

Delivery (consumer groups):

* **Acknowledged after handling.** An entry read from a stream is published
  on the local hub with :meth:`~avd.runtime.hub.EventHub.publish_tracked`
  and acknowledged (``XACK``) only once every local subscriber has handled
  it. A consumer that dies leaves its entries pending.
* **Claimed after ``claim_idle_s``.** Each consumer claims (``XAUTOCLAIM``)
  entries of its group left pending longer than that by another consumer,
  and handles them.
* **Resumed.** A group remembers what it delivered: a restarted consumer
  reads its own pending entries first (same name), then goes on where its
  group stopped. A new group starts at the streams' end (no stale replay).
* **Trade workers.** With leases (``engine.workers.leases``) and no
  ``bus.group``, each trade worker reads in its own group,
  ``trade.<worker id>`` (:func:`worker_group`): every worker gets every
  market event and acts on its own clients. Such a group starts afresh at
  each start of its worker (``resume=False``): what the worker missed while
  away was handled by the workers that took its clients over.
* **Capped.** Every ``XADD`` trims its stream near ``maxlen`` entries
  (``MAXLEN ~``, 100 000 by default); an entry trimmed before a group read
  it is gone for that group (counted in ``trimmed``).
* **At least once, duplicates dropped.** Every entry carries its publisher
  and a sequence number; a consumer drops a pair it has already taken (a
  batch re-sent after a lost reply; the last 200 000 pairs are remembered,
  per process).

When Redis goes away, every part retries with a backoff (0.2 s doubling to
5 s) and :meth:`RedisTransport.health` says since when it is down (in every
service's ``/health``). Events to publish wait in a buffer (``buffer``
entries, in-progress klines coalesced; past it the publisher waits:
backpressure, a closed candle is never dropped); handled entries whose ack
did not reach Redis are acknowledged after the reconnect, never handled
twice. If Redis lost its data (restarted without persistence), the groups
are created again from the start of the new streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from avd.domain.events import (
    CandleEvaluated,
    ClientChanged,
    ContextScoreCalculated,
    DrawdownLimitReached,
    Event,
    KlineReceived,
    OrderRejected,
    PartialExitTaken,
    SignalGenerated,
    SLAdjusted,
    TradeClosed,
    TradePlaced,
    event_from_dict,
)
from avd.runtime.hub import EventHub, Subscription
from avd.settings import BusSettings, redacted_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

#: the event types of each stream family
FAMILIES: dict[str, tuple[type[Event], ...]] = {
    "market": (KlineReceived, CandleEvaluated, ContextScoreCalculated, SignalGenerated),
    "trade": (
        TradePlaced,
        SLAdjusted,
        PartialExitTaken,
        TradeClosed,
        DrawdownLimitReached,
        OrderRejected,
    ),
    "client": (ClientChanged,),
}
BACKOFF_S = (0.2, 5.0)
#: entries read (or claimed) at once
BATCH = 500
#: (publisher, sequence) pairs remembered to drop duplicates
SEEN = 200_000


def crosses(event: Event) -> bool:
    """Whether a local event of a crossing family goes out.

    A closed kline does not: the market service publishes it as the
    :class:`CandleEvaluated` that carries it, ordered with its signal.
    """
    return not (isinstance(event, KlineReceived) and event.closed)


class Transport(Protocol):
    """What every service starts, stops and reports in ``/health``."""

    async def start(self) -> None:
        """Start bridging the hub."""
        ...

    async def stop(self) -> None:
        """Stop bridging."""
        ...

    def health(self) -> dict[str, Any]:
        """How the bridge is doing."""
        ...


class InProcessTransport:
    """The default: the events stay on the process's hub."""

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def health(self) -> dict[str, Any]:
        """Always up."""
        return {"kind": "in-process", "connected": True}


def default_consumer() -> str:
    """The consumer name of this process: host and process id."""
    host = "".join(c if c.isalnum() or c in "-_." else "-" for c in socket.gethostname())
    return f"{host[:40]}-{os.getpid()}"


def worker_group(worker_id: str) -> str:
    """The consumer group of a trade worker: ``trade.<worker id>``.

    With leases every worker acts on its own clients, so each needs every
    market event: one group per worker (workers sharing a group would split
    the events between them). Characters a group name cannot hold become
    ``-``; a name past 64 characters is cut and ends with a hash of the id
    (still one group per worker).
    """
    name = "trade." + "".join(
        c if (c.isascii() and c.isalnum()) or c in "_.:-" else "-" for c in worker_id
    )
    if len(name) > 64:
        digest = hashlib.sha256(worker_id.encode()).hexdigest()[:12]
        name = f"{name[:51]}-{digest}"
    return name


def _is_down(exc: BaseException) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError)


class RedisTransport:
    """Bridges an :class:`EventHub` to Redis Streams.

    Parameters
    ----------
    hub
        The process's hub.
    settings
        The ``bus`` settings.
    publish
        The families whose local events go out (``"market"``, ``"trade"``).
    consume
        The families read into the hub. Never one this process publishes
        (its own events would come back).
    group
        The consumer group when the settings name none (the service's name).
    resume
        Whether the group goes on where it stopped when this process starts
        (the default). ``False``: the group is created again at the streams'
        end on start (its earlier position and pending entries dropped), for
        a consumer whose backlog others have handled meanwhile (a trade
        worker: its clients were taken over while it was away). After a
        reconnect during the run the group is always resumed.
    """

    def __init__(
        self,
        hub: EventHub,
        settings: BusSettings,
        *,
        publish: Sequence[str] = (),
        consume: Sequence[str] = (),
        group: str = "avd",
        keep: Callable[[Event], bool] = crosses,
        resume: bool = True,
    ) -> None:
        unknown = sorted((set(publish) | set(consume)) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown stream families: {unknown}")
        both = sorted(set(publish) & set(consume))
        if both:
            raise ValueError(f"a process cannot both publish and consume {both}")
        self.hub = hub
        self.settings = settings
        self.publish = tuple(publish)
        self.consume = tuple(consume)
        self.group = settings.group or group
        self.resume = resume
        self.consumer = settings.consumer or default_consumer()
        #: this process as a publisher (the consumer name and a start time: unique per run)
        self.node = f"{self.consumer}:{time.time_ns()}"
        self._keep = keep
        self._stream_of = {
            cls: settings.prefix + family for family in self.publish for cls in FAMILIES[family]
        }
        self._streams = [settings.prefix + f for f in self.consume]
        self._redis: Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._out: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(BATCH)
        self._seq = 0
        #: entries published on the hub, not acknowledged yet: (stream, id) → its done future
        self._inflight: dict[tuple[str, str], asyncio.Future[None]] = {}
        #: entries to acknowledge once handled, in the order they were read
        self._acks: deque[tuple[str, str, asyncio.Future[None], tuple[str, int]]] = deque()
        self._ack_wake = asyncio.Event()
        self._out_sub: Subscription | None = None
        self._was_up = False
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        #: a new group starts at the streams' end; created again after a data loss, at 0
        self._groups_from = "$"
        self._next_claim = 0.0
        self.connected = asyncio.Event()
        #: a part that stopped on an error that retrying cannot mend (e.g. a wrong key type)
        self.failed = ""
        self.down_since: float | None = time.time()
        self.last_error = ""
        self.counters = {
            "published": 0,
            "consumed": 0,
            "acked": 0,
            "claimed": 0,
            "duplicates": 0,
            "trimmed": 0,
            "undecodable": 0,
            "reconnects": 0,
        }

    def __repr__(self) -> str:
        return f"RedisTransport(url={redacted_url(self.settings.url)!r}, group={self.group!r})"

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the local events to publish and start the bridge's tasks.

        Redis need not be up: the tasks wait for it (see :meth:`health`).
        """
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            self.settings.url, socket_timeout=5.0, socket_connect_timeout=2.0
        )
        if self.publish:
            types = tuple(self._stream_of)
            self._out_sub = self.hub.subscribe(
                "bus-out", self._enqueue, *types, maxsize=self.settings.buffer
            )
            self._spawn(self._send(), "bus-send")
        if self.consume:
            self._spawn(self._read(), "bus-read")
            self._spawn(self._ack(), "bus-ack")
        self._spawn(self._watch(), "bus-watch")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._ended)
        self._tasks.append(task)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A part that stopped on an error Redis gave (not a lost connection) says so."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.failed = f"{task.get_name()}: {type(exc).__name__}: {exc}"[:300]
        log.error("redis bus: %s stopped: %s", task.get_name(), self.failed, exc_info=exc)
        self.connected.clear()
        self.last_error = self.failed

    async def stop(self) -> None:
        """Stop the tasks (what is not acknowledged stays pending in Redis)."""
        if self._out_sub is not None:
            await self.hub.unsubscribe(self._out_sub)
            self._out_sub = None
        # a cancellation that lands inside a redis-py call can come back as a
        # connection error, which the loops retry: cancel again until every task ended
        running = set(self._tasks)
        while running:
            for task in running:
                task.cancel()
            _, running = await asyncio.wait(running, timeout=1.0)
        self._tasks.clear()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
        self.connected.clear()

    async def flushed(self) -> None:
        """Wait until every event given to the bridge so far is in Redis."""
        if self._out_sub is not None:
            await self._out_sub.drained()
        await self._out.join()

    def health(self) -> dict[str, Any]:
        """Up or down since when, the last error, the counters and what waits."""
        return {
            "kind": "redis",
            "url": redacted_url(self.settings.url),
            "connected": self.connected.is_set() and not self.failed,
            "failed": self.failed,
            "down_since": self.down_since,
            "last_error": self.last_error,
            "group": self.group,
            "consumer": self.consumer,
            "publishes": [self.settings.prefix + f for f in self.publish],
            "consumes": self._streams,
            "waiting_to_publish": self._out.qsize()
            + (self._out_sub.stats.depth if self._out_sub is not None else 0),
            "unacknowledged": len(self._inflight),
            **self.counters,
        }

    # -- connection state ----------------------------------------------------------

    def _up(self) -> None:
        if not self.connected.is_set():
            if self._was_up:
                self.counters["reconnects"] += 1
            self._was_up = True
            log.info("redis bus connected: %s", redacted_url(self.settings.url))
            self.connected.set()
            self.down_since = None
            self.last_error = ""

    def _down(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        if self.connected.is_set() or self.down_since is None:
            self.down_since = time.time()
            log.warning("redis bus lost (%s); reconnecting", self.last_error)
        self.connected.clear()

    async def _backoff(self, delay: float) -> float:
        await asyncio.sleep(delay)
        return min(delay * 2, BACKOFF_S[1])

    @property
    def redis(self) -> Redis:
        """The client (once started)."""
        if self._redis is None:
            raise RuntimeError("the transport is not started")
        return self._redis

    async def _watch(self) -> None:
        """A ping a second: ``connected`` follows Redis even when nothing flows."""
        while True:
            try:
                await self.redis.ping()
                self._up()
            except Exception as exc:
                if not _is_down(exc):
                    raise
                self._down(exc)
            await asyncio.sleep(1.0)

    # -- publishing ----------------------------------------------------------------

    async def _enqueue(self, event: Event) -> None:
        if self._keep(event):
            stream = self._stream_of[type(event)]
            await self._out.put((stream, orjson.dumps(event.to_dict())))

    async def _send(self) -> None:
        while True:
            batch = [await self._out.get()]
            while len(batch) < BATCH and not self._out.empty():
                batch.append(self._out.get_nowait())
            entries: list[tuple[str, dict[Any, Any]]] = []
            for stream, payload in batch:
                self._seq += 1
                entries.append((stream, {"e": payload, "src": self.node, "seq": self._seq}))

            def xadd(pipe: Any, entries: list[tuple[str, dict[Any, Any]]] = entries) -> None:
                for stream, fields in entries:
                    pipe.xadd(stream, fields, maxlen=self.settings.maxlen, approximate=True)

            await self._until_taken(xadd)
            self._up()
            self.counters["published"] += len(entries)
            for _ in batch:
                self._out.task_done()

    async def _until_taken(self, build: Callable[[Any], None]) -> None:
        """Send one pipeline of commands (``build`` adds them), retried while Redis is down."""
        delay = BACKOFF_S[0]
        while True:
            try:
                pipe = self.redis.pipeline(transaction=False)
                build(pipe)
                await pipe.execute()
                return
            except Exception as exc:
                if not _is_down(exc):
                    raise
                self._down(exc)
                delay = await self._backoff(delay)

    # -- consuming -----------------------------------------------------------------

    async def _read(self) -> None:
        from redis.exceptions import ResponseError

        delay = BACKOFF_S[0]
        while True:
            try:
                await self._create_groups()
                await self._own_pending()
                self._next_claim = 0.0
                while True:
                    if time.monotonic() >= self._next_claim:
                        await self._claim()
                        self._next_claim = time.monotonic() + self.settings.claim_idle_s / 2
                    got: Any = await self.redis.xreadgroup(
                        self.group,
                        self.consumer,
                        dict.fromkeys(self._streams, ">"),
                        count=BATCH,
                        block=1000,
                    )
                    self._up()
                    delay = BACKOFF_S[0]
                    for stream, entries in got or []:
                        await self._dispatch(_text(stream), entries)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis lost the group (restarted without its data): the streams are new
                log.warning("redis bus: the group %r is gone; created again", self.group)
            except Exception as exc:
                if not _is_down(exc):
                    raise
                self._down(exc)
                delay = await self._backoff(delay)

    async def _create_groups(self) -> None:
        from redis.exceptions import ResponseError

        fresh = not self.resume and self._groups_from == "$"
        for stream in self._streams:
            if fresh:  # the first start: what the group had is dropped
                with contextlib.suppress(ResponseError):  # no stream, or no group yet
                    await self.redis.xgroup_destroy(stream, self.group)
            try:
                await self.redis.xgroup_create(stream, self.group, self._groups_from, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        # from now on a missing group means Redis lost its data: the streams are new
        self._groups_from = "0"

    async def _own_pending(self) -> None:
        """Entries delivered to this consumer before and never acknowledged (a restart)."""
        for stream in self._streams:
            last = "0"
            while True:
                got: Any = await self.redis.xreadgroup(
                    self.group, self.consumer, {stream: last}, count=BATCH
                )
                self._up()
                entries = got[0][1] if got else []
                if not entries:
                    break
                await self._dispatch(stream, entries)
                last = _text(entries[-1][0])

    async def _claim(self) -> None:
        """Take over the entries other consumers left pending past ``claim_idle_s``."""
        idle_ms = int(self.settings.claim_idle_s * 1000)
        for stream in self._streams:
            start = "0-0"
            while True:
                reply: Any = await self.redis.xautoclaim(
                    stream, self.group, self.consumer, idle_ms, start_id=start, count=BATCH
                )
                start, entries = _text(reply[0]), reply[1]
                ours = [e for e in entries if (stream, _text(e[0])) not in self._inflight]
                if ours:
                    self.counters["claimed"] += len(ours)
                    log.info("redis bus: claimed %d pending entries of %s", len(ours), stream)
                await self._dispatch(stream, entries)
                if start == "0-0":
                    break

    async def _dispatch(self, stream: str, entries: Iterable[Any]) -> None:
        """Publish entries on the hub; their acks wait for the handling."""
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            if (stream, entry_id) in self._inflight:
                continue  # being handled here already
            if not fields:  # trimmed by MAXLEN before anyone handled it
                self.counters["trimmed"] += 1
                await self._settled(stream, entry_id, ("", 0))
                continue
            f = {_text(k): v for k, v in fields.items()}
            origin = (_text(f.get("src", b"")), int(f.get("seq", 0)))
            if origin in self._seen:
                self.counters["duplicates"] += 1
                log.debug(
                    "redis bus: %s %s is a copy of %s #%d; dropped", stream, entry_id, *origin
                )
                await self._settled(stream, entry_id, origin)
                continue
            try:
                event = event_from_dict(orjson.loads(f["e"]))
            except (KeyError, TypeError, ValueError) as exc:
                self.counters["undecodable"] += 1
                log.error(
                    "redis bus: %s %s is not an event (%s); acknowledged", stream, entry_id, exc
                )
                await self._settled(stream, entry_id, origin)
                continue
            if origin[0]:
                # seen from now on: a copy read while this one is handled is dropped too
                self._seen[origin] = None
                if len(self._seen) > SEEN:
                    self._seen.popitem(last=False)
            done = await self.hub.publish_tracked(event)
            self._inflight[(stream, entry_id)] = done
            self.counters["consumed"] += 1
            self._acks.append((stream, entry_id, done, origin))
            self._ack_wake.set()

    async def _settled(self, stream: str, entry_id: str, origin: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        self._inflight[(stream, entry_id)] = done
        self._acks.append((stream, entry_id, done, origin))
        self._ack_wake.set()

    async def _ack(self) -> None:
        """Acknowledge handled entries in order, in batches; retried until Redis takes them."""
        while True:
            if not self._acks:
                self._ack_wake.clear()
                await self._ack_wake.wait()
                continue
            # the oldest first: acknowledged in the order they were read
            await self._acks[0][2]
            ready: list[tuple[str, str, tuple[str, int]]] = []
            while self._acks and len(ready) < BATCH and self._acks[0][2].done():
                stream, entry_id, _, origin = self._acks.popleft()
                ready.append((stream, entry_id, origin))
            by_stream: dict[str, list[str]] = {}
            for s, i, _ in ready:
                by_stream.setdefault(s, []).append(i)

            def xack(pipe: Any, by_stream: dict[str, list[str]] = by_stream) -> None:
                for s, ids in by_stream.items():
                    pipe.xack(s, self.group, *ids)

            await self._until_taken(xack)
            for s, i, _ in ready:
                self._inflight.pop((s, i), None)
            self.counters["acked"] += len(ready)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def transport(
    hub: EventHub,
    settings: BusSettings | None,
    *,
    publish: Sequence[str] = (),
    consume: Sequence[str] = (),
    group: str = "avd",
    resume: bool = True,
) -> InProcessTransport | RedisTransport:
    """The configured transport: Redis Streams with a bus, else in process."""
    if settings is None:
        return InProcessTransport()
    return RedisTransport(
        hub, settings, publish=publish, consume=consume, group=group, resume=resume
    )
