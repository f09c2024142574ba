"""``make screenshots``: the README's pictures of the dashboards, taken in a real browser.

Starts ``avd run`` on a fresh folder (offline simulator at 60x, an admin
made by ``avd admin create``), makes a demo client with a deposit, one open
and one closed paper trade, then saves each main page as
``<out>/<page>.png``. Rerun it whenever the pages change::

    make screenshots            # = python -m tests.ui.screenshots docs/img
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx

from tests.polling import wait_until
from tests.ui.browser import Browser, chromium
from tests.ui.conftest import Account, UiPlatform, launch, stop

#: (file name, path, a text the page shows once its data is in)
CLIENT_PAGES = (
    ("market", "/", "BTCUSDT"),
    ("chart", "/symbol/BTCUSDT", "BTCUSDT"),
    ("positions", "/positions", "ETHUSDT"),
    ("history", "/history", "BTCUSDT"),
    ("funds", "/funds", "Deposit"),
    ("bot", "/bot", "Save"),
    ("security", "/security", "Two-factor"),
)
ADMIN_PAGES = (
    ("admin-clients", "/admin", "demo-"),
    ("admin-journal", "/admin/audit", "login"),
    ("admin-health", "/admin/health", "BTCUSDT"),
)


def _trade(platform: UiPlatform, me: Account, symbol: str, amount: str) -> int:
    r = platform.api(
        "POST",
        "/trades/execute",
        me,
        json={"symbol": symbol, "side": "BUY", "quote_amount": amount},
    )
    r.raise_for_status()
    return int(r.json()["id"])


def demo(platform: UiPlatform) -> Account:
    """A client with a deposit, a closed BTCUSDT trade and an open ETHUSDT one."""
    me = platform.new_client("demo", deposit="250")
    wait_until(
        lambda: httpx.get(f"{platform.url}/symbols/contexts").json()["count"] >= 5,
        "every symbol has a context",
        timeout=60,
    )
    closed = _trade(platform, me, "BTCUSDT", "150")
    platform.api("POST", f"/trades/{closed}/close", me).raise_for_status()
    _trade(platform, me, "ETHUSDT", "120")
    return me


def log_in(browser: Browser, email: str, password: str) -> None:
    """Log in through ``/login``."""
    browser.open("/login")
    browser.type("Email", email)
    browser.type("Password", password)
    browser.button("Log in").click()
    browser.button("Log out")


def shoot(out: Path) -> list[Path]:
    """Every page's screenshot into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="avd-screens-") as tmp:
        platform = launch(Path(tmp) / "platform")
        try:
            me = demo(platform)
            with chromium(platform.url, out) as b:
                log_in(b, me.email, me.password)
                for name, path, ready in CLIENT_PAGES:
                    b.open(path)
                    b.text(ready, timeout_s=30)
                    taken.append(b.screenshot(name))
                b.open("/logout")
                b.button("Log in")
                log_in(b, platform.admin_email, platform.admin_password)
                for name, path, ready in ADMIN_PAGES:
                    b.open(path)
                    b.text(ready, timeout_s=30)
                    taken.append(b.screenshot(name))
        finally:
            stop(platform)
    return taken


if __name__ == "__main__":
    for path in shoot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
