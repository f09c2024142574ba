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


def test_avd_run_prints_the_dashboard_first(ui_platform: UiPlatform) -> None:
    first = ui_platform.running.output().splitlines()[0]
    assert f"dashboard on {ui_platform.url}/" in first, first


def test_every_page_is_served_by_avd_run_not_shadowed_by_the_api(ui_platform: UiPlatform) -> None:
    """In ``avd run`` the API's routes answer first: no page may sit on an API path."""
    from avd.ui.app import PAGES

    for path, _ in PAGES:
        concrete = path.replace("{symbol}", "BTCUSDT").replace("{client_id}", "1")
        r = httpx.get(f"{ui_platform.url}{concrete}", follow_redirects=False)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("text/html"), (path, r.headers)


async def test_an_expired_access_token_is_refreshed_silently(
    user: User, ui_platform: UiPlatform
) -> None:
    from avd.ui import session as sessions

    me = ui_platform.new_client("refresh")
    await log_in(user, me.email)
    await see(user, "Log out")
    (held,) = [s for s in sessions._SESSIONS.values() if s.logged_in]
    # what the services answer for an expired token: 401 "unauthorized"
    held.access_token = "expired.or.revoked"
    stale_refresh = held.refresh_token
    await user.open("/funds")
    await see(user, "Log out", "Funds")
    assert held.access_token not in (None, "expired.or.revoked")
    assert held.refresh_token != stale_refresh  # refresh tokens rotate
    r = httpx.get(
        f"{ui_platform.url}/client/me", headers={"Authorization": f"Bearer {held.access_token}"}
    )
    assert r.status_code == 200 and r.json()["email"] == me.email


async def test_a_locked_account_says_for_how_long(user: User, ui_platform: UiPlatform) -> None:
    """Five wrong passwords lock the account (the default); the page says for how long."""
    from tests.polling import until

    me = ui_platform.new_client("locked")
    admin = {"Authorization": f"Bearer {ui_platform.admin_token()}"}

    def failures() -> int:
        r = httpx.get(
            f"{ui_platform.url}/admin/journal", params={"subject_id": me.id}, headers=admin
        )
        return sum(e["action"] in ("login_failed", "account_locked") for e in r.json()["entries"])

    await log_in(user, me.email, "not the password 1")
    for attempt in range(2, 6):
        await see(user, "invalid email or password")
        # the page's call runs on this loop: wait without blocking it
        await until(lambda n=attempt: failures() >= n - 1, f"failure {attempt - 1} recorded")
        user.find(kind=ui.button, content="Log in").click()
    await see(user, "locked")
    await see(user, "try again in")
    # the right password is refused too while the lock holds
    user.find("Password").clear().type(me.password)
    user.find(kind=ui.button, content="Log in").click()
    await see(user, "try again in")
    await user.should_not_see("Log out")


async def test_registration_is_offered_only_while_open(user: User, ui_platform: UiPlatform) -> None:
    admin = {"Authorization": f"Bearer {ui_platform.admin_token()}"}
    url = f"{ui_platform.url}/admin/parameters"
    await user.open("/login")
    await see(user, "No account yet? Register")
    r = httpx.patch(url, json={"registration_open": False}, headers=admin)
    assert r.status_code == 200, r.text
    try:
        await user.open("/login")
        await see(user, "Email")
        await user.should_not_see("No account yet? Register")
        await user.open("/register")
        await see(user, "Registration is closed")
        await user.should_not_see("Password")
    finally:
        r = httpx.patch(url, json={"registration_open": True}, headers=admin)
        assert r.status_code == 200, r.text
