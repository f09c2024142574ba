"""Smoke tests in a real browser: chromium through Selenium, on ``avd run``'s own dashboards.

What a newcomer does: register, watch the market fill, open a chart, trade
on paper from the Positions page, read the history; an admin blocks a
client. Each step saves a screenshot under the test's tmp dir, and the
browser console must stay free of errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.platform import PASSWORD
from tests.ui import browser as real
from tests.ui.conftest import UiPlatform
from tests.ui.screenshots import log_in

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")


@pytest.fixture
def browser(ui_platform: UiPlatform, tmp_path: Path) -> Iterator[real.Browser]:
    assert real.available() is None, real.available()  # `make test` installs it: never skip
    with real.chromium(ui_platform.url, tmp_path / "screenshots") as b:
        yield b
        assert b.console_errors() == []


def _rows(b: real.Browser, text: str) -> list[WebElement]:
    return [
        r
        for r in b.driver.find_elements(By.XPATH, f"//tr[.//*[contains(text(), '{text}')]]")
        if r.is_displayed()
    ]


def test_a_newcomer_registers_watches_the_market_and_trades_on_paper(
    browser: real.Browser, ui_platform: UiPlatform
) -> None:
    b = browser
    email = f"newcomer-{os.urandom(3).hex()}@example.com"
    b.open("/register")
    b.type("Email", email)
    b.type("Password", PASSWORD)
    b.button("Register").click()
    b.button("Log out")

    # the market table fills with every replayed symbol
    for name in SYMBOLS:

        def row(name: str = name) -> list[WebElement]:
            return _rows(b, name)

        b.wait_for(f"a market row of {name}", row, timeout_s=60)
    b.screenshot("market")

    # a click on a row opens its chart, drawn by ECharts on a canvas
    _rows(b, "BTCUSDT")[0].click()
    b.wait_for("the chart's canvas", lambda: b.driver.find_elements(By.CSS_SELECTOR, "canvas"))
    b.text("EMA 20")
    b.screenshot("chart")

    # prepay the platform fees (the Funds page is tested with the simulated user)
    token = httpx.post(
        f"{ui_platform.url}/auth/login", json={"email": email, "password": PASSWORD}
    ).json()["access_token"]
    paid = httpx.post(
        f"{ui_platform.url}/client/deposit",
        json={"amount": "100", "idempotency_key": f"smoke-{os.urandom(6).hex()}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert paid.status_code == 201, paid.text

    # a paper trade from the Positions page
    b.open("/positions")
    b.text("No open trades.")
    symbol = b.field("Symbol")
    symbol.click()
    symbol.send_keys("BTCUSDT")
    b.wait_for(
        "the BTCUSDT option",
        lambda: [
            o
            for o in b.driver.find_elements(By.CSS_SELECTOR, ".q-menu .q-item")
            if "BTCUSDT" in o.text
        ],
    )[0].click()
    b.type("Quote amount (USDT)", "100")
    b.button("Place trade").click()
    b.button("Close")  # the open trade's row
    b.screenshot("positions")
    r = httpx.get(f"{ui_platform.url}/trades/active", headers={"Authorization": f"Bearer {token}"})
    (trade,) = r.json()["trades"]
    assert (trade["symbol"], trade["side"]) == ("BTCUSDT", "BUY")

    # closed after a confirmation, then in the history
    b.button("Close").click()
    b.button("Close trade").click()
    b.text("No open trades.")
    b.open("/history")
    b.text(str(trade["id"]))
    b.text("BTCUSDT")
    b.screenshot("history")
    closed = httpx.get(
        f"{ui_platform.url}/trades/history", headers={"Authorization": f"Bearer {token}"}
    ).json()["trades"]
    assert [t["id"] for t in closed] == [trade["id"]]

    # the other pages render (a screenshot of each; no console error)
    for name, path, ready in (
        ("funds", "/funds", "Prepaid balance"),
        ("bot", "/bot", "Take-profits"),
        ("keys", "/keys", "Add a key"),
        ("security", "/security", "Two-factor authentication"),
    ):
        b.open(path)
        b.text(ready)
        b.screenshot(name)


def test_an_admin_blocks_a_client(browser: real.Browser, ui_platform: UiPlatform) -> None:
    b = browser
    victim = ui_platform.new_client("blocked")
    log_in(b, ui_platform.admin_email, ui_platform.admin_password)
    b.open("/admin")
    b.type("Search by email", victim.email)
    b.button("Search").click()
    row = f"//*[contains(text(), '{victim.email}')]/ancestor::*[.//button[contains(., 'Block')]][1]"
    b.wait_for(
        "the client's Block button",
        lambda: b.driver.find_element(By.XPATH, f"{row}//button[contains(., 'Block')]"),
    ).click()
    b.wait_for(
        "the dialog's Block button",
        lambda: [
            e
            for e in b.driver.find_elements(
                By.XPATH, "//div[contains(@class,'q-dialog')]//button[contains(., 'Block')]"
            )
            if e.is_displayed()
        ],
    )[0].click()
    b.wait_for(
        "the blocked badge",
        lambda: (
            "blocked"
            in b.driver.find_element(By.XPATH, row.replace("'Block'", "'Unblock'")).text.lower()
        ),
    )
    b.screenshot("admin-blocked")
    r = httpx.post(
        f"{ui_platform.url}/auth/login", json={"email": victim.email, "password": PASSWORD}
    )
    assert r.status_code == 403, r.text
