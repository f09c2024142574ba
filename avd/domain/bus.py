"""The event bus the services publish to and subscribe on (a protocol).

Services depend on this interface only; the runtime provides it: the
in-memory :class:`avd.runtime.hub.EventHub` in one process (typed, bounded
queues with backpressure; a closed candle is never dropped), bridged across
processes by the transports of :mod:`avd.runtime.bus` (Redis Streams).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from avd.domain.events import Event

Handler = Callable[[Event], Awaitable[None]]


class SubscriberCounters(Protocol):
    """What a subscription counts (the stream pump reads ``dropped``)."""

    @property
    def dropped(self) -> int:
        """Events a lossy subscriber dropped because its queue was full."""
        ...


class Subscription(Protocol):
    """One subscriber: its name and its counters."""

    @property
    def name(self) -> str:
        """The subscriber's unique name."""
        ...

    @property
    def stats(self) -> SubscriberCounters:
        """Its counters."""
        ...


class EventBus(Protocol):
    """Typed publish / subscribe."""

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
        ...

    async def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscriber (it gets no event after this call) and stop it."""
        ...

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber (backpressure)."""
        ...

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per subscriber: depth, high water, deliveries, errors, drops, lag."""
        ...
