"""Logging in and out, the login page's errors, and who may see what."""

from __future__ import annotations

import httpx
import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.ui.conftest import BROWSER_ADDRESS, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


async def test_a_page_sends_a_stranger_to_login(user: User) -> None:
    await user.open("/positions")
    await see(user, "Log in")
    await see(user, "Email")


async def test_a_client_logs_in_and_out(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("login")
    await log_in(user, me.email)
    await see(user, me.email)
    await see(user, "Positions")
    user.find(kind=ui.button, content="Log out").click()
    await see(user, "Log in")
    await user.open("/positions")
    await see(user, "Log in")


async def test_a_wrong_password_is_said_inline(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("wrong")
    await log_in(user, me.email, "not the password at all")
    await see(user, "invalid email or password")


async def test_the_services_see_the_browsers_address(user: User, ui_platform: UiPlatform) -> None:
    """Per-address login limits and the journal count the browser, not the dashboard's host."""
    me = ui_platform.new_client("address")
    await log_in(user, me.email)
    await see(user, "Log out")
    r = httpx.get(
        f"{ui_platform.url}/admin/journal",
        params={"subject_id": me.id},
        headers={"Authorization": f"Bearer {ui_platform.admin_token()}"},
    )
    assert r.status_code == 200, r.text
    addresses = [e["ip"] for e in r.json()["entries"] if e["action"] == "login"]
    # one login over the API by the fixture (from 127.0.0.1), one through the page
    assert sorted(addresses) == sorted(["127.0.0.1", BROWSER_ADDRESS])
