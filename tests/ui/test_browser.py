"""Smoke tests in a real browser: chromium through Selenium, on ``avd run``'s own dashboards.

What a newcomer does: register, log in, watch the market, open a chart,
trade on paper from the Positions page, read the history; an admin blocks
a client. Each step saves a screenshot under the test's tmp dir, and the
browser console must stay free of errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui import browser as real
from tests.ui.conftest import UiPlatform


@pytest.fixture
def browser(ui_platform: UiPlatform, tmp_path: Path) -> Iterator[real.Browser]:
    assert real.available() is None, real.available()  # `make test` installs it: never skip
    with real.chromium(ui_platform.url, tmp_path / "screenshots") as b:
        yield b
        assert b.console_errors() == []


def test_a_newcomer_registers_and_sees_the_market(browser: real.Browser) -> None:
    browser.open("/register")
    browser.type("Email", "newcomer@example.com")
    browser.type("Password", "correct horse battery")
    browser.button("Register").click()
    browser.text("newcomer@example.com")
    browser.screenshot("market")
