"""``avd serve ui``: the dashboards alone, in front of services running elsewhere."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.platform import start_avd
from tests.ui import browser as real
from tests.ui.conftest import UiPlatform
from tests.ui.screenshots import log_in


def test_the_dashboards_alone_log_in_and_show_the_market(
    ui_platform: UiPlatform, tmp_path: Path
) -> None:
    url = ui_platform.url
    ui = start_avd(
        tmp_path / "ui",
        "serve", "ui", "--data-dir", str(tmp_path / "ui" / "data"),
        "--client-url", url, "--market-url", url, "--trade-url", url,
    )  # fmt: skip
    try:
        health = httpx.get(f"{ui.url}/health").json()
        assert health["services"] == {"client": url, "market": url, "trade": url}
        # the cookie secret is generated once, private to the owner
        secret = tmp_path / "ui" / "data" / "ui-storage.secret"
        assert secret.stat().st_mode & 0o777 == 0o600
        me = ui_platform.new_client("alone")
        assert real.available() is None, real.available()
        with real.chromium(ui.url, tmp_path / "screenshots") as b:
            log_in(b, me.email, me.password)
            b.text("BTCUSDT")  # the market table, read from the market service through the UI
            b.screenshot("market-alone")
            assert b.console_errors() == []
        assert ui.stop(signal.SIGINT) == 0
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
            ui.proc.wait()


def test_a_busy_port_is_one_line_and_a_failure(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "avd", "serve", "ui", "--port", str(port),
             "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "error" in errors[0] and str(port) in errors[0], r.stderr


def test_a_bad_service_url_is_refused_before_serving(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "avd", "serve", "ui", "--client-url", "not a url",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode != 0
    assert "client_url" in r.stderr, r.stderr
