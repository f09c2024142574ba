"""A real browser for the smoke tests: Debian's chromium through chromium-driver.

Selenium runs offline (``SE_OFFLINE=true``: Selenium Manager never tries to
download a driver); ``make browser`` installs both packages when missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"


def available() -> str | None:
    """Why the browser cannot run here (``None`` when it can)."""
    for path in (CHROMIUM, DRIVER):
        if shutil.which(path) is None:
            return (
                f"{path} is missing: `make browser` installs Debian's chromium and chromium-driver"
            )
    return None


class Browser:
    """One headless chromium window, and waits that say what they waited for."""

    def __init__(self, driver: webdriver.Chrome, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots

    def open(self, path: str) -> None:
        """Load ``path`` of the dashboards."""
        self.driver.get(self.base + path)

    def wait_for(self, what: str, found: Callable[[], Any], timeout_s: float = 20) -> Any:
        """Selenium's wait for ``found`` to return something truthy; fail naming ``what``."""
        wait = WebDriverWait(
            self.driver,
            timeout_s,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        try:
            return wait.until(lambda _: found())
        except TimeoutException:
            self.screenshot("timeout")
            where = self.driver.current_url
            raise AssertionError(f"{what} not seen within {timeout_s} s at {where}") from None

    def text(self, text: str, timeout_s: float = 20) -> WebElement:
        """The first visible element whose text contains ``text``."""

        def find() -> WebElement | None:
            q = _quote(text)
            # the innermost elements containing it (Vue puts comment nodes before some texts)
            xpath = f"//*[contains(., {q}) and not(*[contains(., {q})])]"
            for e in self.driver.find_elements(By.XPATH, xpath):
                if e.is_displayed():
                    return e
            return None

        return self.wait_for(f"text {text!r}", find, timeout_s)  # type: ignore[no-any-return]

    def button(self, label: str, timeout_s: float = 20) -> WebElement:
        """The visible button labelled ``label``."""

        def find() -> WebElement | None:
            for e in self.driver.find_elements(By.XPATH, f"//button[contains(., {_quote(label)})]"):
                if e.is_displayed() and e.is_enabled():
                    return e
            return None

        return self.wait_for(f"button {label!r}", find, timeout_s)  # type: ignore[no-any-return]

    def field(self, label: str, timeout_s: float = 20) -> WebElement:
        """The input of the Quasar field labelled ``label``."""
        field = (
            "//label[.//div[contains(@class,'q-field__label') and "
            f"normalize-space()={_quote(label)}]]"
        )
        xpath = f"{field}//input | {field}//textarea"

        def find() -> WebElement | None:
            for e in self.driver.find_elements(By.XPATH, xpath):
                if e.is_displayed():
                    return e
            return None

        return self.wait_for(f"field {label!r}", find, timeout_s)  # type: ignore[no-any-return]

    def type(self, label: str, value: str) -> None:
        """Type ``value`` into the field labelled ``label``."""
        e = self.field(label)
        e.clear()
        e.send_keys(value)

    def screenshot(self, name: str) -> Path:
        """Save the window as ``<shots>/<name>.png``."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console_errors(self) -> list[dict[str, Any]]:
        """The browser console's errors since the last call (read once)."""
        logs: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [e for e in logs if e.get("level") == "SEVERE"]


def _quote(text: str) -> str:
    """``text`` as an XPath string literal."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{p}'" for p in text.split("'")) + ")"


@contextmanager
def chromium(base: str, shots: Path, size: tuple[int, int] = (1440, 1000)) -> Iterator[Browser]:
    """A headless chromium on ``base`` (screenshots into ``shots``), closed afterwards."""
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container: chromium's sandbox needs user namespaces
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield Browser(driver, base, shots)
    finally:
        driver.quit()
