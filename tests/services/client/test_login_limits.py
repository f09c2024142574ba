"""Login rate limiting and lockout hold across processes: both are stored, not per process.

Two :class:`ClientService` instances with their own database engines stand for
two processes of the Client service on one database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from avd.domain.errors import Locked, TooManyRequests, Unauthorized
from avd.services.client import schemas as m
from avd.services.client.auth.ratelimit import RateLimiter
from avd.services.client.service import ClientService
from avd.store.database import Database
from avd.store.models import RateLimitWindow
from tests.services.client.conftest import PASSWORD, make_settings

BAD = "not the password"


def _login(email: str, password: str) -> m.LoginRequest:
    return m.LoginRequest(email=email, password=password)


async def _two(tmp_path: Path, database_url: str, **login: int) -> tuple[ClientService, ...]:
    settings = make_settings(tmp_path, database_url, login=login)
    one, two = ClientService(settings), ClientService(settings)
    assert one.db.engine is not two.db.engine
    await one.start()
    await two.start()
    return one, two


def test_failures_through_two_processes_count_together(tmp_path: Path, database_url: str) -> None:
    async def run() -> None:
        one, two = await _two(tmp_path, database_url, max_failures=3, lockout_seconds=600)
        try:
            await one.create_user("grace@example.com", PASSWORD, "client")
            bad = _login("grace@example.com", BAD)
            with pytest.raises(Unauthorized):
                await one.login(bad, "10.0.0.1")
            with pytest.raises(Unauthorized):
                await two.login(bad, "10.0.0.2")
            # the third failure, whichever process sees it, locks the account
            with pytest.raises(Locked) as locked:
                await one.login(bad, "10.0.0.3")
            assert locked.value.retry_after_s == 600
            # and the lock holds in both, even for the right password
            for svc in (two, one):
                with pytest.raises(Locked) as again:
                    await svc.login(_login("grace@example.com", PASSWORD), "10.0.0.4")
                assert 590 <= again.value.retry_after_s <= 600
        finally:
            await one.stop()
            await two.stop()

    asyncio.run(run())


def test_rate_limit_of_an_address_counts_across_processes(
    tmp_path: Path, database_url: str
) -> None:
    async def run() -> None:
        one, two = await _two(tmp_path, database_url, rate_limit=5, rate_window_seconds=60)
        try:
            body = _login("ivan@example.com", BAD)

            async def attempt(svc: ClientService) -> str:
                try:
                    await svc.login(body, "192.0.2.7")
                except Unauthorized:
                    return "401"
                except TooManyRequests as exc:
                    assert 1 <= exc.retry_after_s <= 60
                    return "429"
                return "200"

            # twelve attempts at once, half through each process: five get through in all
            # (per process, each would have let five through: ten)
            outcomes = await asyncio.gather(*(attempt((one, two)[i % 2]) for i in range(12)))
            assert sorted(outcomes) == ["401"] * 5 + ["429"] * 7
            # another address is not limited
            with pytest.raises(Unauthorized):
                await two.login(body, "192.0.2.8")
        finally:
            await one.stop()
            await two.stop()

    asyncio.run(run())


def test_the_window_slides(tmp_path: Path, database_url: str) -> None:
    """Four hits a minute: hand-worked waits with a stepped clock, then the row is pruned."""

    async def run() -> None:
        db = Database(database_url)
        await db.upgrade()
        now = [1_000.0]
        a = RateLimiter(db, 4, 60, clock=lambda: now[0])
        b = RateLimiter(Database(database_url), 4, 60, clock=lambda: now[0])
        try:
            for t, limiter in ((1_000.0, a), (1_010.0, b), (1_020.0, a), (1_030.0, b)):
                now[0] = t
                assert await limiter.hit("198.51.100.1") is None
            now[0] = 1_045.0
            # the oldest hit (1000) leaves the window at 1060: wait 15 s
            assert await a.hit("198.51.100.1") == pytest.approx(15.0)
            assert RateLimiter.retry_after(15.0) == 15
            now[0] = 1_060.5
            assert await b.hit("198.51.100.1") is None  # 1000 has left, 1060.5 entered
            now[0] = 1_061.0
            # in the window now: 1010, 1020, 1030, 1060.5; the next to leave is 1010 at 1070
            assert await a.hit("198.51.100.1") == pytest.approx(9.0)
            # a whole window after the last hit the row is deleted
            now[0] = 1_200.0
            assert await b.hit("203.0.113.9") is None
            async with db.read() as s:
                keys = (await s.execute(select(RateLimitWindow.key))).scalars().all()
                count = (await s.execute(select(func.count()).select_from(RateLimitWindow))).one()
            assert keys == ["login:203.0.113.9"] and count[0] == 1
        finally:
            await a.db.dispose()
            await b.db.dispose()

    asyncio.run(run())
