"""The dashboards under test: a real ``avd run`` and NiceGUI's simulated user.

``ui_platform`` is one ``avd run`` for the whole session (offline
simulator at 60 times real time, an admin account created by ``avd admin
create``); every test registers clients of its own, so tests never see
one another's data. ``user`` is NiceGUI's simulated browser (no real
browser; pages run in this process and call the platform over HTTP, as
``avd serve ui`` does); the smoke tests in ``test_browser.py`` drive a
real chromium against the platform's own dashboards.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nicegui.testing.user import User

from avd.ui.settings import ServiceUrls
from tests.platform import CHEAP_ARGON2, PASSWORD, RunningPlatform, start_platform

ADMIN_EMAIL = "admin@avd.example"
#: the simulated browser's network address (TEST-NET-2): the UI forwards it to the services
BROWSER_ADDRESS = "198.51.100.7"


@dataclass
class Account:
    """A client registered on the platform (with a prepaid deposit)."""

    id: int
    email: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class UiPlatform:
    """The running platform and the accounts the tests make on it."""

    running: RunningPlatform
    admin_email: str = ADMIN_EMAIL
    admin_password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.running.url

    def new_client(self, name: str, deposit: str = "1000") -> Account:
        """A fresh client (unique email per call), logged in over the API, ``deposit`` prepaid."""
        email = f"{name}-{os.urandom(4).hex()}@example.com"
        client_id, token = self.running.client(email, deposit)
        return Account(client_id, email, token)

    def admin_token(self) -> str:
        """A fresh access token of the platform's admin."""
        r = httpx.post(
            f"{self.url}/auth/login",
            json={"email": self.admin_email, "password": self.admin_password},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def api(self, method: str, path: str, account: Account, **kw: object) -> httpx.Response:
        """A direct API call as ``account`` (to set up or check what a page did)."""
        return httpx.request(method, f"{self.url}{path}", headers=account.headers, **kw)  # type: ignore[arg-type]


def launch(folder: Path, *args: str) -> UiPlatform:
    """``avd admin create`` then ``avd run`` (at 60x) on ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "client.json"
    config.write_text(json.dumps({"argon2": CHEAP_ARGON2}))
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "avd",
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--config",
            str(config),
            "--data-dir",
            str(folder / "data"),
        ],
        env={**os.environ, "AVD_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    # every simulated browser logs in from one address (BROWSER_ADDRESS): the tests'
    # logins would trip the default limit of 20 per minute per address
    many = {"login": {"rate_limit": 10_000}}
    # a named strategy beside the primary one, for the bot page's strategy picker
    market = {"engine": {"strategies": {"rules": "rsi_macd"}}}
    return UiPlatform(start_platform(folder, "--speed", "60", *args, client=many, market=market))


def stop(platform: UiPlatform) -> None:
    """SIGTERM, and wait for the platform to stop."""
    running = platform.running
    if running.proc.poll() is None:
        running.proc.send_signal(signal.SIGTERM)
        running.wait(30)


@pytest.fixture(scope="session")
def ui_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiPlatform]:
    """One platform with an admin, for every dashboard test of the session."""
    platform = launch(tmp_path_factory.mktemp("ui-platform"))
    yield platform
    stop(platform)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def simulated_user(url: str | ServiceUrls) -> AsyncIterator[User]:
    """NiceGUI's simulated user on the dashboards, talking to the services at ``url``."""
    from nicegui import core, ui
    from nicegui.functions.download import download
    from nicegui.functions.navigate import Navigate
    from nicegui.functions.notify import notify
    from nicegui.testing.general import nicegui_reset_globals, prepare_simulation

    from avd.ui.app import install

    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            prepare_simulation()
            install(ServiceUrls.together(url) if isinstance(url, str) else url)
            ui.run(storage_secret="simulated secret")
            async with (
                core.app.router.lifespan_context(core.app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app, client=(BROWSER_ADDRESS, 50123)),
                    base_url="http://test",
                ) as client,
            ):
                yield User(client)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download


@pytest.fixture
async def user(ui_platform: UiPlatform, caplog: pytest.LogCaptureFixture) -> AsyncIterator[User]:
    """A simulated browser on fresh dashboards (a new browser id: nobody logged in).

    An ERROR logged meanwhile fails the test (a page's handler that raised,
    even in a background task, is a defect the user would meet).
    """
    async with simulated_user(ui_platform.url) as u:
        yield u
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, "errors logged: " + "; ".join(
        f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in errors
    )


async def log_in(user: User, email: str, password: str = PASSWORD) -> None:
    """Log in through ``/login`` as a person would."""
    await user.open("/login")
    user.find("Email").type(email)
    user.find("Password").type(password)
    from nicegui import ui

    user.find(kind=ui.button, content="Log in").click()


def data_dir(ui_platform: UiPlatform) -> Path:
    return ui_platform.running.folder


async def see(user: User, *targets: str, timeout_s: float = 10.0) -> None:
    """Wait until the page shows each of ``targets`` (pages load over HTTP: give them time)."""
    for target in targets:
        await user.should_see(target, retries=int(timeout_s * 10))
