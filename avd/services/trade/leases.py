"""Trade workers: several ``avd serve trade`` processes split the clients through leases.

Off by default (one process owns every client, SQLite or PostgreSQL). With
``workers.leases`` on, every worker on the shared PostgreSQL database runs
:meth:`Leases.tick` every ``renew_s`` seconds:

1. its heartbeat (``trade_workers``) and its leases (``trade_leases``) are
   extended to the database's clock + ``lease_s``; a lease that had already
   expired is not renewed, and the client is dropped from memory at once;
2. the clients to serve (enabled bots, clients with open or pending trades,
   clients already leased) are dealt out over the live workers in order —
   client ``k`` of the sorted list to worker ``k mod n`` of the sorted
   worker ids — so each worker knows its share without talking to others;
3. a client dealt to another live worker is given back (its positions leave
   this worker's memory first); a client dealt to this worker is claimed if
   nobody holds an unexpired lease on it, then restored as after a restart
   (:meth:`~avd.services.trade.recovery.Recovery.recover` for that client:
   open positions and their stops, waiting paper orders, the risk state,
   each order looked up by its deterministic client order id first, so
   nothing is placed twice).

A worker that dies (SIGKILL) stops renewing: ``lease_s`` later its leases
and heartbeat have expired, the survivors deal its clients among themselves
and take them over with their open positions and stops. A worker acts for a
client only while its own clock says the lease it last renewed is valid
(``renewed at + lease_s``, measured before the renewal was sent), so a
worker that stalls stops acting before another can take over.

Signals that arrive while a client has no live owner: see
:class:`~avd.services.trade.signals.Signals` (a new owner trades the
waiting ones younger than ``signal_ttl_s`` that the previous holder had not
handled, by the signal marks each worker keeps in ``trade_signal_marks``;
older ones expire).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from avd.store import leases as repo
from avd.store import trades as trades_repo
from avd.store.database import Database

log = logging.getLogger(__name__)

ClientHook = Callable[[int], Awaitable[None]]
ClientsSource = Callable[[], Awaitable[set[int]]]


def default_worker_id() -> str:
    """``hostname:pid``: unique per process on a network."""
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkerSettings(BaseModel):
    """Trade workers and their leases on clients (the ``workers`` section of the trade engine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: several trade workers share the database and split the clients
    leases: bool = False
    #: this worker's id (default ``hostname:pid``)
    worker_id: str | None = Field(None, min_length=1, max_length=128)
    #: how long a lease (and a worker's heartbeat) lasts without renewal
    lease_s: float = Field(15.0, gt=0)
    #: how often a worker renews its leases and deals the clients
    renew_s: float = Field(5.0, gt=0)
    #: a signal that reached a worker while the client had no live owner is
    #: traded by the client's next owner if it is younger than this, else expires
    signal_ttl_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _renew_before_expiry(self) -> WorkerSettings:
        if self.renew_s * 2 > self.lease_s:
            raise ValueError(
                f"workers.renew_s ({self.renew_s:g}) must be at most half of "
                f"workers.lease_s ({self.lease_s:g}): a lease must survive a missed renewal"
            )
        return self

    def resolved_worker_id(self) -> str:
        """The configured worker id, or ``hostname:pid``."""
        return self.worker_id or default_worker_id()


def deal(clients: list[int], workers: list[str]) -> dict[int, str]:
    """Client ``k`` of the sorted clients to worker ``k mod n`` of the sorted workers."""
    ws = sorted(workers)
    return {c: ws[k % len(ws)] for k, c in enumerate(sorted(clients))}


class Leases:
    """A worker's leases: which clients it owns now, kept in the shared database."""

    def __init__(self, db: Database, settings: WorkerSettings) -> None:
        self.db = db
        self.settings = settings
        self.enabled = settings.leases
        self.worker_id = settings.resolved_worker_id()
        self.owned: set[int] = set()
        #: monotonic deadline of the leases renewed last (this worker's clock)
        self.valid_until = 0.0
        self.workers: list[str] = []
        self.takeovers = 0
        self.ticks = 0
        self.last_error = ""
        self._candidates: ClientsSource | None = None
        self._acquire: ClientHook | None = None
        self._release: ClientHook | None = None
        self._taken: Callable[[int], Coroutine[Any, Any, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._replays: set[asyncio.Task[Any]] = set()
        self._renew_lock = asyncio.Lock()
        self._deal_lock = asyncio.Lock()
        #: clients being claimed and restored now: when each claim is done
        self._acquiring: dict[int, asyncio.Event] = {}
        #: per client taken: the previous holder's signal marks (what it had handled)
        self._marks: dict[int, dict[repo.Stream, int]] = {}

    def owns(self, client_id: int) -> bool:
        """Whether this worker may act for the client now."""
        if not self.enabled:
            return True
        return client_id in self.owned and time.monotonic() < self.valid_until

    def holds(self, client_id: int) -> bool:
        """Whether the client is this worker's (even while its leases lapsed)."""
        return client_id in self.owned

    def handled_before(self, client_id: int) -> dict[repo.Stream, int]:
        """The signals the client's previous holder had handled: the newest per stream."""
        return self._marks.get(client_id, {})

    async def mark(self, symbol: str, interval: str, generated_at: int) -> None:
        """Record that this worker handled the stream's signal for every client it owns."""
        async with self.db.write() as s:
            await repo.mark_signal(s, self.worker_id, symbol, interval, generated_at)

    @property
    def lapsed(self) -> bool:
        """Leases on, and the last renewal is too old to act on any client."""
        return self.enabled and time.monotonic() >= self.valid_until

    def bind(
        self,
        candidates: ClientsSource,
        acquire: ClientHook,
        release: ClientHook,
        taken: Callable[[int], Coroutine[Any, Any, Any]] | None = None,
    ) -> None:
        """Where the clients to serve come from, and what taking or giving one back does.

        ``acquire`` restores a client before this worker acts for it;
        ``taken`` runs once it does (the signals that waited for it).
        """
        self._candidates = candidates
        self._acquire = acquire
        self._release = release
        self._taken = taken

    def start(self) -> None:
        """Renew, and deal, every ``renew_s`` in the background (two loops).

        Renewing never waits for dealing: a slow take-over (restoring many
        positions, trading the signals that waited) cannot let this worker's
        other leases expire.
        """
        if self.enabled and not self._tasks:
            self._tasks = [
                asyncio.create_task(self._loop(self.renew), name="trade-leases-renew"),
                asyncio.create_task(self._loop(self.deal), name="trade-leases-deal"),
            ]

    async def stop(self) -> None:
        """Stop renewing and give every lease back (the others take the clients at once)."""
        for t in [*self._tasks, *self._replays]:
            t.cancel()
        for t in [*self._tasks, *self._replays]:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        if not self.enabled:
            return
        owned = sorted(self.owned)
        for c in owned:
            await self._drop(c)
        self.owned.clear()
        try:
            async with self.db.write() as s:
                for c in owned:  # the next owner replays only what this one had not handled
                    await repo.copy_marks(s, self.worker_id, repo.client_holder(c))
                await repo.forget_worker(s, self.worker_id)
        except Exception as exc:  # the database is gone: the leases expire by themselves
            log.warning("leases not given back (%s); they expire by themselves", exc)

    def health(self) -> dict[str, Any]:
        """The worker, its clients and the workers it sees."""
        return {
            "enabled": self.enabled,
            "worker": self.worker_id,
            "clients": sorted(self.owned) if self.enabled else None,
            "valid": not self.lapsed,
            "workers": self.workers,
            "takeovers": self.takeovers,
            "last_error": self.last_error,
        }

    async def _loop(self, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await step()
                self.last_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("trade leases: %s", self.last_error)
            await asyncio.sleep(self.settings.renew_s)

    async def tick(self) -> None:
        """Renew, then give back and claim clients as dealt over the live workers."""
        await self.renew()
        await self.deal()

    async def renew(self) -> None:
        """The heartbeat and every lease extended; a lease found expired drops its client."""
        async with self._renew_lock:
            lease_s = self.settings.lease_s
            started = time.monotonic()
            # what a claim adds from here on is not in this renewal's answer
            held = set(self.owned)
            async with self.db.write() as s:
                now = await repo.db_now(s)
                await repo.heartbeat(s, self.worker_id, now, lease_s)
                still = await repo.renew(s, self.worker_id, now, lease_s)
                self.workers = await repo.live_workers(s, now)
            self.valid_until = started + lease_s
            self.ticks += 1
            for c in sorted(held - still):
                log.warning("lease on client %d lost (expired before renewal); dropped", c)
                self.owned.discard(c)
                await self._drop(c)

    async def deal(self) -> None:
        """Give back the clients dealt to other live workers; claim the ones dealt here."""
        async with self._deal_lock:
            async with self.db.read() as s:
                now = await repo.db_now(s)
                workers = await repo.live_workers(s, now)
                leased = {r.client_id for r in await repo.leases(s)}
                open_clients = await trades_repo.clients_with_open_trades(s)
            if self.worker_id not in workers:
                workers.append(self.worker_id)  # not renewed yet: it deals itself in
            # the health reports the workers this deal was made over (the
            # renewal's list can be a tick older: a dead worker still in it
            # while its clients are already taken over)
            self.workers = sorted(workers)
            wanted = set(leased) | open_clients
            if self._candidates is not None:
                wanted |= await self._candidates()
            mine = {c for c, w in deal(sorted(wanted), workers).items() if w == self.worker_id}
            for c in sorted(self.owned - mine):
                self.owned.discard(c)
                await self._drop(c)
                async with self.db.write() as s:
                    await repo.copy_marks(s, self.worker_id, repo.client_holder(c))
                    await repo.give_back(s, c, self.worker_id)
                log.info("client %d handed over (dealt to another worker)", c)
            for c in sorted(mine - self.owned):
                await self.claim(c)

    async def claim(self, client_id: int) -> bool:
        """Take the client if nobody holds it, and restore it; whether this worker owns it.

        A client this worker holds while its last renewal is older than
        ``lease_s`` on its own clock (the loop stalled, the database was slow)
        is renewed here rather than claimed: the lease in the database is
        still this worker's, so a claim would fail and the request be refused
        as if another worker served the client. A lease the renewal finds
        expired drops the client, which is then claimed like any other.
        """
        if self.owns(client_id):
            return True
        if self.holds(client_id):
            await self.renew()
            if self.owns(client_id):
                return True
        pending = self._acquiring.get(client_id)
        if pending is not None:  # a claim under way (the deal's, another request's): its outcome
            await pending.wait()
            return self.owns(client_id)
        self._acquiring[client_id] = asyncio.Event()
        try:
            async with self.db.write() as s:
                now = await repo.db_now(s)
                before = await repo.lease_of(s, client_id)
                lapsed = before is not None and before.owner not in (repo.FREE, self.worker_id)
                took = await repo.claim(s, client_id, self.worker_id, now, self.settings.lease_s)
                if before is None:  # never held: every signal that waited is new to it
                    marks: dict[repo.Stream, int] = {}
                elif before.owner == repo.FREE:  # given back: what its holder left with it
                    marks = await repo.signal_marks(s, repo.client_holder(client_id))
                else:  # taken over (or this worker's own lease, lapsed)
                    marks = await repo.signal_marks(s, before.owner)
            if not took:
                return False
            self._marks[client_id] = marks
            if lapsed:
                self.takeovers += 1
                log.warning("client %d taken over (its lease had expired)", client_id)
            if self._acquire is not None:
                await self._acquire(client_id)
            self.owned.add(client_id)
            if self._taken is not None:
                # the signals that waited are traded in the background: the
                # request or the deal that claimed the client goes on
                task = asyncio.create_task(self._taken(client_id), name=f"take-over-{client_id}")
                self._replays.add(task)
                task.add_done_callback(self._replays.discard)
            return True
        finally:
            self._acquiring.pop(client_id).set()

    async def _drop(self, client_id: int) -> None:
        self._marks.pop(client_id, None)
        if self._release is not None:
            try:
                await self._release(client_id)
            except Exception:
                log.exception("dropping client %d", client_id)
