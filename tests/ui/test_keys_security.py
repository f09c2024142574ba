"""``/keys`` (API keys, only their last four characters shown) and ``/security`` (2FA)."""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

import httpx
import pyotp
import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


def credential(n: int = 40) -> str:
    """A random Binance-like credential (letters and digits)."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def page_text(user: User) -> str:
    """Everything the page holds: every element's text, props (values, labels) and notifications."""
    parts: list[str] = []
    for element in user.current_layout.descendants(include_self=True):
        parts.append(element._text or "")
        parts.append(json.dumps(element._props, default=str))
        value = getattr(element, "value", None)
        parts.append(str(value))
    parts += [str(m) for m in user.notify.messages]
    return "\n".join(parts)


def api_keys(ui_platform: UiPlatform, me: Account) -> list[dict[str, Any]]:
    r = ui_platform.api("GET", "/client/api-keys", me)
    assert r.status_code == 200, r.text
    keys: list[dict[str, Any]] = r.json()["keys"]
    return keys


async def open_page(user: User, me: Account, path: str, ready: str) -> None:
    await log_in(user, me.email)
    await see(user, "Log out")
    await user.open(path)
    await see(user, ready)


# --- keys ------------------------------------------------------------------------------


async def test_an_added_key_shows_only_its_last_four_characters(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("keys-add")
    key, secret = credential(), credential(64)
    await open_page(user, me, "/keys", "Add a key")
    user.find(marker="key-label").clear().type("main account")
    user.find(marker="key-api-key").type(key)
    user.find(marker="key-api-secret").type(secret)
    (secret_input,) = user.find(marker="key-api-secret").elements
    assert secret_input.props.get("type") == "password"
    user.find(marker="key-add").click()
    await see(user, f"key ••••{key[-4:]} · secret ••••{secret[-4:]}")
    (stored,) = api_keys(ui_platform, me)
    assert (stored["label"], stored["api_key_last4"]) == ("main account", key[-4:])
    with user.scope(marker=f"key-{stored['id']}"):
        await user.should_see("main account")
    held = page_text(user)
    assert key not in held
    assert secret not in held
    assert key[:-4] not in held and secret[:-4] not in held


async def test_a_bad_key_is_refused_by_its_field(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("keys-bad")
    await open_page(user, me, "/keys", "Add a key")
    user.find(marker="key-api-key").type("short")
    user.find(marker="key-api-secret").type(credential())
    user.find(marker="key-add").click()
    await user.should_see(marker="key-api-key", content="should match pattern", retries=50)
    (secret_input,) = user.find(marker="key-api-secret").elements
    assert secret_input.error is None  # type: ignore[attr-defined]
    assert api_keys(ui_platform, me) == []


async def test_a_key_is_removed_after_confirmation(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("keys-remove")
    keep, drop = credential(), credential()
    for k in (keep, drop):
        r = ui_platform.api(
            "POST", "/client/api-keys", me, json={"api_key": k, "api_secret": credential()}
        )
        assert r.status_code == 201, r.text
    ids = {k["api_key_last4"]: k["id"] for k in api_keys(ui_platform, me)}
    await open_page(user, me, "/keys", f"••••{drop[-4:]}")
    user.find(marker=f"remove-{ids[drop[-4:]]}").click()
    await see(user, "Remove this key?")
    user.find(marker="remove-keep").click()  # changed their mind: nothing happens
    assert len(api_keys(ui_platform, me)) == 2
    user.find(marker=f"remove-{ids[drop[-4:]]}").click()
    user.find(marker="remove-confirm").click()
    await see(user, f"Key ••••{drop[-4:]} removed.")
    assert [k["api_key_last4"] for k in api_keys(ui_platform, me)] == [keep[-4:]]
    await user.should_not_see(marker=f"key-{ids[drop[-4:]]}", retries=50)
    await user.should_see(marker=f"key-{ids[keep[-4:]]}")


# --- security: two-factor authentication -----------------------------------------------


def totp_at(secret: str, offset_s: float = 0) -> str:
    """The authenticator app's code (``offset_s`` later: the next step's code)."""
    return pyotp.TOTP(secret).at(time.time() + offset_s)


def not_a_code(secret: str) -> str:
    """Six digits that no step near now accepts."""
    near = {totp_at(secret, k * 30) for k in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222") if c not in near)


def me_now(ui_platform: UiPlatform, me: Account) -> dict[str, Any]:
    r = ui_platform.api("GET", "/client/me", me)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def texts(user: User, marker: str) -> list[str]:
    return [str(e.text) for e in user.find(marker=marker).elements]  # type: ignore[attr-defined]


async def enrol_through_the_page(user: User) -> tuple[str, list[str]]:
    """Turn 2FA on at /security as a person would: the secret shown and the recovery codes."""
    await see(user, "Turn on 2FA")
    user.find(marker="totp-enroll").click()
    await user.should_see(marker="totp-uri", retries=100)
    (uri,) = texts(user, "totp-uri")
    secret = pyotp.parse_uri(uri).secret
    assert texts(user, "totp-secret") == [" ".join(secret[i : i + 4] for i in range(0, 32, 4))]
    (qr,) = user.find(marker="totp-qr").elements
    assert isinstance(qr, ui.image)
    assert qr.source.startswith("data:image/png;base64,iVBORw0KGgo")  # a PNG
    user.find(marker="totp-code").type(totp_at(secret))
    user.find(marker="totp-verify").click()
    await user.should_see(marker="recovery-code", retries=100)
    return secret, texts(user, "recovery-code")


async def log_out(user: User) -> None:
    user.find(kind=ui.button, content="Log out").click()
    await see(user, "Log in")


async def test_2fa_enrolled_on_the_page_then_asked_at_login(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("totp")
    await open_page(user, me, "/security", "Two-factor authentication")
    await user.should_see(marker="totp-state", content="off", retries=50)
    secret, codes = await enrol_through_the_page(user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert me_now(ui_platform, me)["totp_enabled"] is True
    await user.should_see(marker="totp-state", content="on")
    user.find(marker="codes-download").click()
    downloaded = await user.download.next(timeout=5)
    assert all(c in downloaded.text for c in codes)
    user.find(marker="codes-saved").click()  # shown once: gone once saved
    await user.should_not_see(marker="recovery-code")

    # log in again: the Code field appears, a wrong code is refused inline
    await log_out(user)
    await log_in(user, me.email)
    await see(user, "Enter the code from your authenticator app.")
    await user.should_see(marker="login-code")
    user.find(marker="login-code").type(not_a_code(secret))
    user.find(kind=ui.button, content="Log in").click()
    await see(user, "invalid two-factor code")
    await user.should_not_see("Log out")
    # the app's next code (the one used to enrol is spent) logs in
    user.find(marker="login-code").clear().type(totp_at(secret, 30))
    user.find(kind=ui.button, content="Log in").click()
    await see(user, "Log out")

    # and a recovery code does too, once
    await log_out(user)
    await log_in(user, me.email)
    await see(user, "Enter the code from your authenticator app.")
    user.find(marker="login-use-recovery").click()
    (code_input,) = user.find(marker="login-code").elements
    assert "inputmode" not in code_input.props  # letters too: not the digits-only keyboard
    user.find(marker="login-code").type(codes[3])
    user.find(kind=ui.button, content="Log in").click()
    await see(user, "Log out")
    again = httpx_login(ui_platform, me, recovery_code=codes[3])
    assert again.status_code == 401, again.text


def httpx_login(ui_platform: UiPlatform, me: Account, **second: str) -> httpx.Response:
    """Log in over the API (to check what the page did to the account)."""
    return httpx.post(
        f"{ui_platform.url}/auth/login",
        json={"email": me.email, "password": me.password, **second},
    )


async def test_new_recovery_codes_and_turning_2fa_off(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("totp-off")
    await open_page(user, me, "/security", "Two-factor authentication")
    secret, first = await enrol_through_the_page(user)
    user.find(marker="codes-saved").click()
    # new codes: the old ones stop working
    user.find(marker="codes-renew").click()
    user.find(marker="codes-renew-confirm").click()
    await see(user, "New recovery codes: the old ones no longer work.")
    renewed = texts(user, "recovery-code")
    assert len(renewed) == 10 and not set(renewed) & set(first)
    assert httpx_login(ui_platform, me, recovery_code=first[0]).status_code == 401
    # off: a wrong password is refused by its field, then the right one with a code works
    user.find(marker="off-password").type("not my password")
    user.find(marker="off-code").type(renewed[0])
    user.find(marker="totp-disable").click()
    await user.should_see(marker="off-password", content="invalid password", retries=100)
    assert me_now(ui_platform, me)["totp_enabled"] is True
    user.find(marker="off-password").clear().type(me.password)
    user.find(marker="totp-disable").click()
    await see(user, "Two-factor authentication is off.")
    assert me_now(ui_platform, me)["totp_enabled"] is False
    await user.should_see(marker="totp-state", content="off")
    assert httpx_login(ui_platform, me).status_code == 200  # no code asked any more
    assert secret  # enrolled with it, now forgotten by the service
