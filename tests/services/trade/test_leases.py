"""Leases on clients between trade workers, on SQLite and on a real PostgreSQL.

Each worker has its own :class:`Database` (its own connections, as two
processes would); time is the database's clock, so the tests wait for it to
pass an expiry (polling, no fixed sleep) rather than drive a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from avd.domain.events import OrderRejected, SignalGenerated
from avd.services.trade.leases import Leases, WorkerSettings, deal
from avd.services.trade.signals import Waiting
from avd.store import leases as repo
from avd.store import trades as trades_repo
from avd.store.database import Database
from tests.polling import until
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price

# Ticked by hand: a lease of 3 s leaves a slow database (PostgreSQL on a loaded CI machine)
# a wide margin between two workers' ticks, and a dead worker's clients pass in ~3 s.
FAST = {"leases": True, "lease_s": 3.0, "renew_s": 1.0}
# The engine under test renews (and deals) every 0.5 s but holds its own leases long:
# a loop stalled past a 1 s lease on a loaded CI machine dropped the client mid-test
# ("lease on client 2 lost (expired before renewal)"). The other worker's lease, written by
# the test itself, stays 1 s, so a take-over still comes within a second or two.
OWNER = {"leases": True, "lease_s": 30.0, "renew_s": 0.5}


def test_clients_are_dealt_in_order_over_the_sorted_workers() -> None:
    assert deal([7, 3, 5, 9], ["b:2", "a:1"]) == {3: "a:1", 5: "b:2", 7: "a:1", 9: "b:2"}
    assert deal([4], ["z"]) == {4: "z"}


def test_settings_refuse_a_renewal_slower_than_half_the_lease() -> None:
    with pytest.raises(ValidationError, match=r"renew_s \(6\) must be at most half"):
        WorkerSettings(leases=True, lease_s=10, renew_s=6)
    off = Leases(Database("sqlite:///:memory:"), WorkerSettings())
    assert off.owns(123) and not off.lapsed  # off: this process owns every client


def test_two_workers_split_hand_over_and_take_over_a_dead_ones_clients(
    database_url: str,
) -> None:
    async def go() -> None:
        dbs = [Database(database_url), Database(database_url)]
        await dbs[0].upgrade()
        taken: dict[str, list[int]] = {"a": [], "b": []}
        dropped: dict[str, list[int]] = {"a": [], "b": []}
        workers: dict[str, Leases] = {}
        for name, db in zip(("a", "b"), dbs, strict=True):
            w = Leases(db, WorkerSettings(worker_id=name, **FAST))

            async def clients() -> set[int]:
                return {1, 2, 3, 4}

            async def take(c: int, name: str = name) -> None:
                taken[name].append(c)

            async def drop(c: int, name: str = name) -> None:
                dropped[name].append(c)

            w.bind(clients, take, drop)
            workers[name] = w
        a, b = workers["a"], workers["b"]
        try:
            await a.tick()  # alone: every client
            assert a.owned == {1, 2, 3, 4} and all(a.owns(c) for c in (1, 2, 3, 4))
            await b.tick()  # its share (2 and 4) is still held by a
            assert b.owned == set() and b.workers == ["a", "b"]
            await a.tick()  # a gives 2 and 4 back ...
            assert a.owned == {1, 3} and dropped["a"] == [2, 4]
            await b.tick()  # ... and b takes them
            assert b.owned == {2, 4} and taken["b"] == [2, 4] and b.takeovers == 0

            # a dies: it renews no more; once its lease expired b deals itself everything
            async def b_has_all() -> bool:
                await b.tick()
                return b.owned == {1, 2, 3, 4}

            await until(b_has_all, "b taking a's clients over", timeout=20)
            assert taken["b"] == [2, 4, 1, 3] and b.takeovers == 2
            await b.renew()
            assert b.workers == ["b"]
            # and a, on its own clock, stopped acting for them before that
            assert a.lapsed and not a.owns(1)
            async with dbs[1].read() as s:
                rows = {r.client_id: (r.owner, r.takeovers) for r in await repo.leases(s)}
            assert rows == {1: ("b", 1), 2: ("b", 0), 3: ("b", 1), 4: ("b", 0)}

            # a comes back: it gets its share again once b hands it over
            await a.tick()
            assert a.owned == set()
            await b.tick()
            await a.tick()
            assert (a.owned, b.owned) == ({1, 3}, {2, 4})

            # two workers racing for one free client: exactly one wins it
            won = await asyncio.gather(a.claim(9), b.claim(9))
            assert sorted(won) == [False, True]
            assert (9 in a.owned) != (9 in b.owned)

            # a worker that stops gives its leases back: the other takes them at once
            await a.stop()
            await b.tick()
            assert b.owned == {1, 2, 3, 4, 9}
            assert b.takeovers == 2  # given back, not taken over
            async with dbs[1].read() as s:
                assert {r.client_id: r.takeovers for r in await repo.leases(s)} == {
                    1: 1,
                    2: 0,
                    3: 1,
                    4: 0,
                    9: 0,
                }
        finally:
            await b.stop()
            for db in dbs:
                await db.dispose()

    run(go(), timeout=90)


def _lone_worker(db: Database, client: int, take: Callable[[int], Awaitable[None]]) -> Leases:
    """A worker alone on the database, dealt ``client``; ``take`` restores, a drop fails."""

    async def clients() -> set[int]:
        return {client}

    async def drop(c: int) -> None:
        raise AssertionError(f"client {c} dropped")

    w = Leases(db, WorkerSettings(worker_id="w", leases=True, lease_s=30.0, renew_s=10.0))
    w.bind(clients, take, drop)
    return w


def test_a_request_while_the_renewal_is_late_renews_the_lease_instead_of_refusing(
    database_url: str,
) -> None:
    """The loop stalled past ``lease_s`` on the worker's clock, the lease in the
    database still its own: the next request renews it, not a take-over."""

    async def go() -> None:
        db = Database(database_url)
        await db.upgrade()
        restored: list[int] = []

        async def take(c: int) -> None:
            restored.append(c)

        w = _lone_worker(db, 5, take)
        try:
            await w.tick()
            assert w.owns(5) and restored == [5]
            async with db.read() as s:
                (before,) = await repo.leases(s)
            # the worker's own clock: the last renewal is too old to act on
            w.valid_until = time.monotonic() - 0.001
            assert w.lapsed and not w.owns(5) and w.holds(5)
            assert await w.claim(5)
            assert w.owns(5) and not w.lapsed
            # renewed, not taken over nor restored a second time
            assert restored == [5] and w.takeovers == 0
            async with db.read() as s:
                (after,) = await repo.leases(s)
            assert (after.owner, after.takeovers) == ("w", 0)
            assert after.expires_at > before.expires_at
        finally:
            await w.stop()
            await db.dispose()

    run(go(), timeout=60)


def test_a_request_during_the_deals_claim_waits_for_it_instead_of_refusing(
    database_url: str,
) -> None:
    """The deal is claiming and restoring a client when a request for it
    arrives: the request waits for that claim and is served, the client
    restored once (it used to be refused as another worker's)."""

    async def go() -> None:
        db = Database(database_url)
        await db.upgrade()
        restored: list[int] = []
        restoring, finish = asyncio.Event(), asyncio.Event()

        async def take(c: int) -> None:
            restoring.set()
            await finish.wait()  # a restore that takes until the test lets it end
            restored.append(c)

        w = _lone_worker(db, 7, take)
        try:
            await w.renew()
            deal = asyncio.create_task(w.deal())
            await restoring.wait()
            assert not w.owns(7)
            request = asyncio.create_task(w.claim(7))
            await asyncio.sleep(0)  # one turn of the loop: the request is waiting on the claim
            assert not request.done()
            finish.set()
            assert await request  # the request: served once the claim is done
            await deal
            assert w.owns(7) and restored == [7]
            # two requests at once for a client nobody holds: both served, one restore
            assert list(await asyncio.gather(w.claim(8), w.claim(8))) == [True, True]
            assert restored == [7, 8]
        finally:
            await w.stop()
            await db.dispose()

    run(go(), timeout=60)


def _signal(side: str, at: int, price: Decimal) -> SignalGenerated:
    return SignalGenerated(
        symbol="BTCUSDT",
        interval="1m",
        side=side,
        confidence=0.8,
        reason="test",
        generated_at=at,
        score=80.0,
        pattern="breakout",
        price=float(price),
    )


def test_a_signal_waits_for_an_ownerless_client_then_is_traded_once_or_expires(
    sim: Sim, tmp_path: Path
) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim, bots_cache_s=0, workers=OWNER)
        engine = stack.engine
        try:
            cid, _ = await stack.client("owned@example.com", enabled=True, symbols=["BTCUSDT"])
            # another worker holds the client, then dies (renews no more)
            async with engine.db.write() as s:
                now = await repo.db_now(s)
                await repo.heartbeat(s, "zz-dead", now, 1.0)
                assert await repo.claim(s, cid, "zz-dead", now, 1.0)
            price = await sim_price(sim)
            close_ms = 10**13 + 59_999
            await stack.hub.publish(_signal("BUY", close_ms, price))
            await stack.hub.drain()
            if not engine.leases.owns(cid):  # the usual case: the lease had not expired yet
                assert await engine.trades(cid, None, limit=10, offset=0) == []
                assert [set(w.clients) for w in engine.signals.waiting] == [{cid}]

            # this worker takes the client over and trades the waiting signal, once
            async def traded() -> bool:
                rows = await engine.manual.trades(cid, None, limit=10, offset=0)
                return len(rows) == 1 and not engine.signals.waiting

            await until(traded, "the waiting signal traded by the new owner", timeout=20)
            (t,) = await engine.manual.trades(cid, None, limit=10, offset=0)
            assert (t.origin, t.side) == ("signal", "BUY")

            # the same signal waiting again (another worker's copy) is not traded twice,
            # even with the position closed: the shared database knows it was traded
            await engine.on_tick("BTCUSDT", close_ms + 1, price)
            await stack.hub.drain()
            await engine.close(cid, t.id)
            engine.signals.waiting.append(
                Waiting(time.monotonic(), _signal("BUY", close_ms, price), {cid})
            )
            assert await engine.signals.take_over(cid) == 0
            assert len(await engine.manual.trades(cid, None, limit=10, offset=0)) == 1
            # a newer signal waiting is traded; one older than signal_ttl_s (30 s) expires
            engine.signals.waiting.append(
                Waiting(time.monotonic() - 45, _signal("BUY", close_ms + 60_000, price), {cid})
            )
            engine.signals.waiting.append(
                Waiting(time.monotonic(), _signal("BUY", close_ms + 120_000, price), {cid})
            )
            assert await engine.signals.take_over(cid) == 1
            assert engine.signals.expired == 1
            rows = await engine.manual.trades(cid, None, limit=10, offset=0)
            assert len(rows) == 2
            health = await stack.trade.health()
            assert health["worker"]["clients"] == [cid] and health["worker"]["takeovers"] == 1
            assert health["worker"]["signals_expired"] == 1
        finally:
            await close_stack(stack)

    run(go(), timeout=120)


def test_a_new_signal_waits_behind_the_ones_a_take_over_has_not_traded_yet(
    sim: Sim, tmp_path: Path
) -> None:
    """The interleaving of a take-over: the client is owned again, its waiting BUY not yet
    replayed (the replay runs in the background), and the next BUY of the same symbol
    arrives. The bot's rule, in order: the older BUY opens the position, the newer one
    finds it held. And the shared database's entry guard refuses a second position in
    the symbol even when this worker's memory does not know the first one."""

    async def go() -> None:
        stack = await make_stack(tmp_path, sim, bots_cache_s=0, workers=OWNER)
        engine = stack.engine
        try:
            cid, _ = await stack.client("order@example.com", enabled=True, symbols=["BTCUSDT"])

            async def owned() -> bool:
                return engine.leases.owns(cid)

            await until(owned, "the client claimed", timeout=20)
            price = await sim_price(sim)
            old_ms, new_ms = 10**13 + 59_999, 10**13 + 119_999
            # a BUY that came while the client had no live owner, still waiting
            engine.signals.waiting.append(
                Waiting(time.monotonic(), _signal("BUY", old_ms, price), {cid})
            )
            # the next candle's BUY reaches the new owner before the replay ran
            await stack.hub.publish(_signal("BUY", new_ms, price))
            await stack.hub.drain()
            assert await engine.signals.take_over(cid) == 0  # nothing left to replay
            rows = await engine.manual.trades(cid, None, limit=10, offset=0)
            assert len(rows) == 1
            async with engine.db.read() as s:
                assert await trades_repo.signal_traded(s, cid, "BTCUSDT", old_ms)
                assert not await trades_repo.signal_traded(s, cid, "BTCUSDT", new_ms)

            # this worker forgets the position (as if a restore had missed it): the
            # database's entry guard still refuses the bot a second one in BTCUSDT
            engine.positions.release(rows[0].id)
            assert engine.positions.in_symbol(cid, "BTCUSDT") == []
            await stack.hub.publish(_signal("BUY", new_ms + 60_000, price))
            await stack.hub.drain()
            assert len(await engine.manual.trades(cid, None, limit=10, offset=0)) == 1
            refused = [e for e in stack.events if isinstance(e, OrderRejected)]
            assert [(e.client_id, e.rule) for e in refused] == [(cid, "position_open")]
        finally:
            await close_stack(stack)

    run(go(), timeout=120)


def test_a_take_over_replays_only_the_signals_the_dead_owner_had_not_handled(
    sim: Sim, tmp_path: Path
) -> None:
    """Every worker keeps every signal for the clients it does not own, the ones their owner
    handles too. The dead owner had handled a SELL and then the BUY that opened the client's
    position; the new owner must not replay that SELL (it would close the position the bot
    holds), only the signals newer than what the dead owner had marked as handled."""

    async def go() -> None:
        stack = await make_stack(tmp_path, sim, bots_cache_s=0, workers=OWNER)
        engine = stack.engine
        try:
            cid, _ = await stack.client("marks@example.com", enabled=True, symbols=["BTCUSDT"])

            async def owned() -> bool:
                return engine.leases.owns(cid)

            await until(owned, "the client claimed", timeout=20)
            price = await sim_price(sim)
            t0, t1, t2 = (10**13 + 59_999 + k * 60_000 for k in range(3))
            await stack.hub.publish(_signal("SELL", t0, price))
            await stack.hub.publish(_signal("BUY", t1, price))
            await stack.hub.drain()
            await engine.on_tick("BTCUSDT", t1 + 1, price)
            await stack.hub.drain()
            (t,) = await engine.manual.trades(cid, None, limit=10, offset=0)
            assert (t.status, t.origin) == ("open", "signal")
            async with engine.db.read() as s:  # this worker marked both as handled
                assert await repo.signal_marks(s, engine.leases.worker_id) == {
                    ("BTCUSDT", "1m"): t1
                }

            # the client passes to another worker that handled the same two signals, then dies
            async with engine.db.write() as s:
                now = await repo.db_now(s)
                await repo.give_back(s, cid, engine.leases.worker_id)
                await repo.heartbeat(s, "zz-dead", now, 1.0)
                assert await repo.claim(s, cid, "zz-dead", now, 1.0)
                await repo.mark_signal(s, "zz-dead", "BTCUSDT", "1m", t1)
            engine.leases.owned.discard(cid)
            await engine._drop_client(cid)
            # this worker kept both signals for the client it did not own
            for sig in (_signal("SELL", t0, price), _signal("BUY", t1, price)):
                engine.signals.waiting.append(Waiting(time.monotonic(), sig, {cid}))

            async def taken_over() -> bool:
                return engine.leases.owns(cid) and not engine.signals.waiting

            await until(taken_over, "the dead worker's client taken over", timeout=20)
            await stack.hub.drain()
            assert engine.leases.takeovers == 1
            # the position restored and left open: the old SELL not replayed
            (t,) = await engine.manual.trades(cid, None, limit=10, offset=0)
            assert t.status == "open"
            assert engine.positions.in_symbol(cid, "BTCUSDT") == [t.id]
            assert engine.positions.exit_orders == {}

            # a SELL the dead worker never handled (newer than its mark) is replayed
            engine.signals.waiting.append(
                Waiting(time.monotonic(), _signal("SELL", t2, price), {cid})
            )
            assert await engine.signals.take_over(cid) == 1
            await engine.on_tick("BTCUSDT", t2 + 1, price)
            await stack.hub.drain()

            async def closed() -> bool:
                (t,) = await engine.manual.trades(cid, None, limit=10, offset=0)
                return t.status == "closed"

            await until(closed, "the position closed by the SELL never handled", timeout=20)
        finally:
            await close_stack(stack)

    run(go(), timeout=120)


def test_signal_marks_never_move_back_and_go_with_a_client_given_back(
    database_url: str,
) -> None:
    async def go() -> None:
        db = Database(database_url)
        await db.upgrade()
        try:
            async with db.write() as s:
                await repo.mark_signal(s, "w1", "BTCUSDT", "1m", 120)
                await repo.mark_signal(s, "w1", "BTCUSDT", "1m", 60)  # late: kept at 120
                await repo.mark_signal(s, "w1", "ETHUSDT", "1m", 60)
                await repo.mark_signal(s, "w2", "BTCUSDT", "1m", 999)
            async with db.write() as s:
                await repo.copy_marks(s, "w1", repo.client_holder(7))
            async with db.read() as s:
                assert await repo.signal_marks(s, "w1") == {
                    ("BTCUSDT", "1m"): 120,
                    ("ETHUSDT", "1m"): 60,
                }
                assert await repo.signal_marks(s, "client:7") == {
                    ("BTCUSDT", "1m"): 120,
                    ("ETHUSDT", "1m"): 60,
                }
                assert await repo.signal_marks(s, "w3") == {}
        finally:
            await db.dispose()

    run(go(), timeout=60)
