"""A real ``avd run`` (or any ``avd`` server command) in a subprocess, on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from avd.net import free_port
from tests.polling import wait_http_ok

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}
PASSWORD = "correct horse battery"


@dataclass
class RunningPlatform:
    """One ``avd run`` process and how to talk to it."""

    proc: subprocess.Popen[bytes]
    port: int
    folder: Path
    output_path: Path
    #: answers 200 once the process serves
    ready_path: str = "/health"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_ready(self, deadline_s: float = 90) -> None:
        wait_http_ok(
            f"{self.url}{self.ready_path}",
            lambda: f"avd {self.ready_path}:\n{self.output()}",
            proc=self.proc,
            timeout=deadline_s,
        )

    def client(self, email: str, deposit: str = "1000") -> tuple[int, str]:
        """Register, log in and prepay: the client's id and access token."""
        r = httpx.post(f"{self.url}/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        client_id = r.json()["id"]
        r = httpx.post(f"{self.url}/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        r = httpx.post(
            f"{self.url}/client/deposit",
            json={"amount": deposit, "idempotency_key": f"first-deposit-{client_id}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        return client_id, token

    def stop(self, sig: int, deadline_s: float = 20) -> int:
        """Send ``sig``; the exit status, or a failure if it is still running at the deadline."""
        self.proc.send_signal(sig)
        return self.wait(deadline_s)

    def wait(self, deadline_s: float = 20) -> int:
        try:
            return self.proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"avd run still running {deadline_s} s after the signal:\n{self.output()}")


def start_platform(
    folder: Path,
    *args: str,
    client: Mapping[str, object] | None = None,
    market: Mapping[str, object] | None = None,
) -> RunningPlatform:
    """``avd run`` on ``folder`` (offline simulator), with cheap password hashing.

    ``client`` adds to the configuration's ``client`` section; ``market`` is its ``market``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "platform.json"
    sections: dict[str, object] = {"client": {"argon2": CHEAP_ARGON2, **(client or {})}}
    if market is not None:
        sections["market"] = dict(market)
    config.write_text(json.dumps(sections))
    return start_avd(
        folder, "run", "--config", str(config), "--data-dir", str(folder / "data"), *args
    )


def start_avd(
    folder: Path,
    *args: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    ready_path: str = "/health",
) -> RunningPlatform:
    """``avd <args> --port P`` in a subprocess, ready once ``ready_path`` answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    out = folder / "output.txt"
    with out.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "avd", *args, "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    running = RunningPlatform(proc, port, folder / "data", out, ready_path)
    try:
        running.wait_ready()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return running
