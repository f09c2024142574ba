"""The dashboards in front of the three services running apart (four processes).

The pages reach the Client, Market and Trade services at three different
URLs and follow the market stream of the market service and the trade
stream of the trade service: the same pages as in ``avd run``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nicegui import ui

from avd.ui.settings import ServiceUrls
from tests.platform import PASSWORD
from tests.polling import until
from tests.runtime.test_services_apart import Deployment
from tests.ui.conftest import see, simulated_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def apart(tmp_path: Path) -> Iterator[Deployment]:
    d = Deployment(tmp_path, {"client": None, "trade": None})
    try:
        for name in ("sim", "client", "market", "trade"):
            d.start(name)
        yield d
    finally:
        d.stop_all()


async def test_the_pages_work_with_the_services_apart(apart: Deployment) -> None:
    urls = ServiceUrls(apart.url("client"), apart.url("market"), apart.url("trade"))
    email = f"apart-{os.urandom(3).hex()}@example.com"
    async with simulated_user(urls) as user:
        await user.open("/register")
        user.find("Email").type(email)
        user.find("Password").type(PASSWORD)
        user.find(kind=ui.button, content="Register").click()
        await see(user, "Log out")
        # the market service's contexts fill the table
        await user.should_see(marker="market-table")

        def listed() -> bool:
            (table,) = user.find(marker="market-table").elements
            rows = table.rows  # type: ignore[attr-defined]
            return {"BTCUSDT", "ETHUSDT"} <= {row["symbol"] for row in rows}

        await until(listed, "BTCUSDT and ETHUSDT rows from the market service", timeout=30)

        token = httpx.post(
            f"{urls.client}/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(
            f"{urls.client}/client/deposit",
            json={"amount": "50", "idempotency_key": f"apart-{os.urandom(4).hex()}"},
            headers=auth,
        )
        assert r.status_code == 201, r.text

        await user.open("/positions")
        await see(user, "No open trades.")
        # placed over the trade service's API: the page hears of it on the trade stream
        r = httpx.post(
            f"{urls.trade}/trades/execute",
            json={"symbol": "ETHUSDT", "side": "BUY", "quote_amount": "100"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        trade = r.json()
        await user.should_see(marker=f"row-{trade['id']}", retries=300)
        await user.should_not_see("No open trades.")
