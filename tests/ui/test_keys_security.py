"""``/keys`` (API keys, only their last four characters shown) and ``/security`` (2FA)."""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
from collections.abc import Callable
from typing import Any

import pytest
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


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


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
