"""Database fixtures: every persistence and service test runs on SQLite and PostgreSQL.

PostgreSQL is real: a private server (initdb into a temp folder, run by the
``postgres`` system user) on a free loopback port, started once per session.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from avd.api.client.app import create_app
from avd.api.client.settings import ClientSettings

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A private PostgreSQL server; yields its base URL (no database part)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: run `make test` (it installs it)")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="avd-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    _as_postgres(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "postgres",
        "--no-sync",
        "-E",
        "UTF8",
    )
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    _as_postgres(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        opts,
        "-l",
        str(root / "server.log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


_db_names = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a real SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'client.db'}"
    base = request.getfixturevalue("pg_server")
    name = f"avd_test_{os.getpid()}_{next(_db_names)}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def make_settings(data_dir: Path, database_url: str, **extra: Any) -> ClientSettings:
    return ClientSettings(
        data_dir=data_dir,
        database_url=database_url,
        argon2=CHEAP_ARGON2,
        **extra,
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> ClientSettings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def api(settings: ClientSettings) -> Iterator[TestClient]:
    """The Client service app, started (migrations applied), on the database under test."""
    with TestClient(create_app(settings)) as client:
        yield client


def auth(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Register (if needed) and log in; the Authorization header."""
    r = client.post("/auth/register", json={"email": email, "password": password})
    assert r.status_code in (201, 409), r.text
    r = client.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def admin_auth(client: TestClient, email: str = "root@avd.test") -> dict[str, str]:
    """An admin account (created through the service, as `avd admin create` does)."""
    svc = client.app.state.client_service  # type: ignore[attr-defined]
    client.portal.call(svc.create_user, email, PASSWORD, "admin")  # type: ignore[union-attr]
    r = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def service_headers(client: TestClient) -> dict[str, str]:
    svc = client.app.state.client_service  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {svc._service_token}"}
