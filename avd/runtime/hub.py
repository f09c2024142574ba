"""The in-memory EventHub: typed, async, one bounded queue per subscriber.

Guarantees:

* **Closed candles (and every non-coalescable event) are never dropped.**
  When a subscriber's queue is full, :meth:`EventHub.publish` waits for room:
  backpressure, felt by the publisher.
* **In-progress updates are coalesced.** An event with a ``coalesce_key``
  (an in-progress kline) replaces the queued one with the same key in place;
  if none is queued and the queue is full, it is dropped and counted, since a
  newer update will follow. The publisher never waits for those.
* **Lossy subscribers.** A subscriber made with ``lossy=True`` (a dashboard,
  a websocket client) never slows the publisher: when its queue is full, new
  events are dropped and counted instead.
* **Subscribers are isolated.** Each runs in its own task; a handler that
  raises is logged and counted, and the hub goes on delivering.
* **Tracked deliveries.** :meth:`EventHub.publish_tracked` returns a
  future done once every subscriber that took the event has handled it (or
  let it go: coalesced into a newer update, dropped by a lossy queue). The
  Redis transport acknowledges a stream entry only then.
* **Observable.** :meth:`EventHub.stats` reports each subscriber's queue
  depth, high-water mark, deliveries, errors, drops and lag (how old the
  last delivered event was when its handler started).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from avd.domain.bus import Handler
from avd.domain.bus import Subscription as BusSubscription
from avd.domain.events import Event

log = logging.getLogger(__name__)


class Tracker:
    """Counts the subscribers still to handle one tracked event; ``done`` when none is left."""

    __slots__ = ("done", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settle(self) -> None:
        """One subscriber handled (or let go) the event."""
        self.pending -= 1
        if self.pending <= 0 and not self.done.done():
            self.done.set_result(None)


class _Slot:
    __slots__ = ("event", "trackers")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.trackers: list[Tracker] | None = None

    def settle(self) -> None:
        if self.trackers is not None:
            for t in self.trackers:
                t.settle()
            self.trackers = None


@dataclass
class SubscriberStats:
    """Counters of one subscriber."""

    name: str
    depth: int = 0
    high_water: int = 0
    delivered: int = 0
    coalesced: int = 0
    dropped_updates: int = 0
    #: events a lossy subscriber dropped because its queue was full
    dropped: int = 0
    errors: int = 0
    last_lag_ms: float = 0.0
    max_lag_ms: float = 0.0
    blocked_publishes: int = 0


class Subscription:
    """One subscriber: its queue, its task and its counters."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        types: tuple[type[Event], ...],
        maxsize: int,
        *,
        lossy: bool = False,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.name = name
        self.lossy = lossy
        self.types = types
        self.maxsize = maxsize
        self._handler = handler
        self._queue: deque[_Slot] = deque()
        self._by_key: dict[tuple[Any, ...], _Slot] = {}
        self._not_empty = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.stats = SubscriberStats(name)

    def wants(self, event: Event) -> bool:
        """Whether this subscriber takes events of this type."""
        return not self.types or isinstance(event, self.types)

    def offer(self, event: Event, tracker: Tracker | None = None) -> bool:
        """Queue without waiting; False if the event must wait for room.

        A ``tracker`` is settled once the event is handled, or at once when
        it is dropped; an update coalesced into a queued one settles with it.
        """
        key = event.coalesce_key
        if key is not None:
            slot = self._by_key.get(key)
            if slot is not None:
                slot.event = event
                self.stats.coalesced += 1
                _track(slot, tracker)
                return True
            if len(self._queue) >= self.maxsize:
                self.stats.dropped_updates += 1
                if tracker is not None:
                    tracker.settle()
                return True
        elif len(self._queue) >= self.maxsize:
            if self.lossy:
                self.stats.dropped += 1
                if tracker is not None:
                    tracker.settle()
                return True
            return False
        slot = _Slot(event)
        _track(slot, tracker)
        if key is not None:
            self._by_key[key] = slot
        self._queue.append(slot)
        self._idle.clear()
        depth = len(self._queue)
        self.stats.depth = depth
        self.stats.high_water = max(self.stats.high_water, depth)
        if depth >= self.maxsize:
            self._room.clear()
        self._not_empty.set()
        return True

    async def put(self, event: Event, tracker: Tracker | None = None) -> None:
        """Queue, waiting for room when full (never drops a non-coalescable event)."""
        if self.offer(event, tracker):
            return
        self.stats.blocked_publishes += 1
        while not self.offer(event, tracker):
            self._room.clear()
            await self._room.wait()

    def start(self) -> None:
        """Start the delivery task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"hub:{self.name}")

    async def stop(self) -> None:
        """Stop the delivery task (queued events are not delivered).

        A caller cancelled while it waits stays cancelled, with its own
        cancellation: only the delivery task's ends here.
        """
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            # wait() neither raises the task's CancelledError nor swallows the caller's
            await asyncio.wait([task])

    async def drained(self) -> None:
        """Wait until every queued event has been handled."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._not_empty.clear()
                await self._not_empty.wait()
                continue
            slot = self._queue.popleft()
            event = slot.event
            key = event.coalesce_key
            if key is not None and self._by_key.get(key) is slot:
                del self._by_key[key]
            self.stats.depth = len(self._queue)
            self._room.set()
            lag_ms = (time.monotonic_ns() - event.created_ns) / 1e6
            self.stats.last_lag_ms = lag_ms
            self.stats.max_lag_ms = max(self.stats.max_lag_ms, lag_ms)
            try:
                await self._handler(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.errors += 1
                log.exception(
                    "subscriber %r failed on %s; it goes on", self.name, type(event).__name__
                )
            # handled, even by a handler that raised: a poison event is not retried forever
            slot.settle()
            self.stats.delivered += 1


def _track(slot: _Slot, tracker: Tracker | None) -> None:
    if tracker is not None:
        if slot.trackers is None:
            slot.trackers = []
        slot.trackers.append(tracker)


class EventHub:
    """Typed publish/subscribe with bounded per-subscriber queues."""

    def __init__(self, default_maxsize: int = 10_000) -> None:
        self._subs: list[Subscription] = []
        self._default_maxsize = default_maxsize
        self._started = False

    def subscribe(
        self,
        name: str,
        handler: Handler,
        *types: type[Event],
        maxsize: int | None = None,
        lossy: bool = False,
    ) -> Subscription:
        """Register ``handler`` for events of ``types`` (all events if none given).

        ``lossy`` subscribers drop events when their queue is full instead of
        slowing the publisher down.
        """
        if any(s.name == name for s in self._subs):
            raise ValueError(f"a subscriber named {name!r} already exists")
        sub = Subscription(
            name, handler, tuple(types), maxsize or self._default_maxsize, lossy=lossy
        )
        self._subs.append(sub)
        if self._started:
            sub.start()
        return sub

    async def unsubscribe(self, sub: BusSubscription) -> None:
        """Remove a subscriber (at once: it gets no event after this call) and stop it."""
        if not isinstance(sub, Subscription):
            raise TypeError(f"not a subscription of this hub: {sub!r}")
        if sub in self._subs:
            self._subs.remove(sub)
        await sub.stop()

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber.

        Waits while a subscriber's queue is full and the event cannot be
        coalesced (backpressure); never drops a closed candle.
        """
        for sub in self._subs:
            if sub.wants(event):
                await sub.put(event)

    async def publish_tracked(self, event: Event) -> asyncio.Future[None]:
        """:meth:`publish`, and a future done once every subscriber taking it handled it.

        Done at once when no subscriber takes the event. A subscriber stopped
        with the event still queued never settles it: the future stays
        pending (the Redis transport then leaves the entry unacknowledged).
        """
        tracker = Tracker()
        subs = [sub for sub in self._subs if sub.wants(event)]
        tracker.pending = len(subs)
        if not subs:
            tracker.done.set_result(None)
        for sub in subs:
            await sub.put(event, tracker)
        return tracker.done

    def start(self) -> None:
        """Start every subscriber's delivery task (inside the running loop)."""
        self._started = True
        for sub in self._subs:
            sub.start()

    async def stop(self) -> None:
        """Stop every delivery task."""
        self._started = False
        for sub in list(self._subs):
            await sub.stop()

    async def drain(self) -> None:
        """Wait until every subscriber has handled every queued event."""
        for sub in self._subs:
            await sub.drained()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per subscriber: depth, high water, deliveries, errors, drops, lag."""
        return {s.name: vars(s.stats).copy() for s in self._subs}
