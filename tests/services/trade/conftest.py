"""Trade engine fixtures: a paused simulator, the real python-binance client, clients."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from avd.exchange.rest_limiter import RestLimiter
from avd.exchange.simulator import BackgroundSimulator, SimConfig
from avd.exchange.simulator.client import SimClient
from avd.exchange.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from avd.runtime.hub import EventHub
from avd.runtime.standalone import service_for
from avd.services.client import schemas as cm
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.services.trade.service import TradeService
from avd.services.trade.settings import TradeEngineSettings
from avd.store import accounts

with warnings.catch_warnings():
    # python-binance 1.0.37 imports websockets' legacy client, deprecated upstream
    warnings.simplefilter("ignore", DeprecationWarning)
    import binance  # noqa: F401

KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
START = datetime(2026, 4, 20, tzinfo=UTC)
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Sim:
    def __init__(self, bg: BackgroundSimulator) -> None:
        self.bg = bg
        self.address = bg.address
        self.client = SimClient(bg.address)
        self.http = httpx.Client(base_url=f"http://{bg.address}", timeout=30)

    def admin(self, action: str, **body: Any) -> dict[str, Any]:
        r = self.http.post(f"/sim/admin/{action}", json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """The simulator's own account balances (free, locked): exact Decimals."""
        acct = self.bg.sim.accounts.by_key[KEY]
        return {a: (b.free, b.locked) for a, b in self.bg.call(lambda: dict(acct.balances)).items()}

    async def create(self) -> Any:
        return await self.client.create(KEY, SECRET)


def _start(**kw: Any) -> Iterator[Sim]:
    cfg = SimConfig(step_ms=6000, start=START, port=0, **kw)
    bg = BackgroundSimulator(cfg).start()
    sim = Sim(bg)
    try:
        yield sim
    finally:
        sim.http.close()
        bg.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    """A simulator that moves only when a test steps it."""
    yield from _start(speed=1.0, paused=True)


@dataclass
class Stack:
    """A ClientService and a TradeService on one hub (paper by default), started."""

    clients: ClientService
    trade: TradeService
    hub: EventHub
    events: list[Any]

    @property
    def engine(self) -> Any:
        return self.trade.engine

    async def client(self, email: str, balance: str = "10000", **params: Any) -> tuple[int, str]:
        """A client account with a prepaid balance; its id and access token."""
        u = await self.clients.create_user(email, "correct horse battery", "client")
        if Decimal(balance):
            async with self.clients.db.read() as s:
                admin = await accounts.get(s, self.admin_id)
            assert admin is not None
            await self.clients.adjust(
                admin, u.id, cm.Adjustment(amount=Decimal(balance), reason="test funds"), None
            )
        if params:
            from avd.domain.parameters import BotParameters

            if params.get("mode") == "live":
                await self.clients.add_api_key(
                    u.id, cm.ApiKeyCreate(api_key="k" * 64, api_secret="s" * 64), None
                )
            await self.clients.save_parameters(u.id, BotParameters(**params))
        return u.id, self.token(u.id, "client")

    def token(self, user_id: int, role: str) -> str:
        t = self.clients.tokens
        return t.encode(t.issue(user_id, role, 0, "access"))

    admin_id: int = 0


async def make_stack(
    tmp: Path,
    sim: Sim,
    database_url: str | None = None,
    *,
    limiter: RestLimiter | None = None,
    **engine: Any,
) -> Stack:
    url = database_url or f"sqlite:///{tmp / 'avd.db'}"
    clients = ClientService(ClientSettings(data_dir=tmp, database_url=url, argon2=CHEAP_ARGON2))
    hub = EventHub()
    svc = service_for(
        hub,
        clients,
        "sim",
        sim.address,
        TradeEngineSettings(**engine),
        limiter=limiter or RestLimiter(),
    )
    events: list[Any] = []

    async def record(e: Any) -> None:
        events.append(e)

    from avd.domain.events import (
        DrawdownLimitReached,
        OrderRejected,
        PartialExitTaken,
        SLAdjusted,
        TradeClosed,
        TradePlaced,
    )

    hub.subscribe(
        "test-recorder",
        record,
        TradePlaced,
        SLAdjusted,
        TradeClosed,
        PartialExitTaken,
        DrawdownLimitReached,
        OrderRejected,
    )
    hub.start()
    await svc.start()
    stack = Stack(clients, svc, hub, events)
    async with clients.db.read() as s:
        found = await accounts.by_email(s, "admin@example.com")
    if found is None:
        admin = await clients.create_user("admin@example.com", "correct horse battery", "admin")
        stack.admin_id = admin.id
    else:
        stack.admin_id = found.id
    return stack


async def close_stack(stack: Stack) -> None:
    await stack.hub.drain()
    await stack.trade.stop()
    await stack.hub.stop()
    await stack.clients.stop()
