"""Shared fixtures: the real data folder, and databases.

Every persistence and service test runs on SQLite and PostgreSQL. PostgreSQL
is real: a private server (initdb into a temp folder, run by the
``postgres`` system user) on a free loopback port, started once per session.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from avd.history import Candles, read_candles
from avd.net import free_port as _free_port
from tests.redis_server import RedisServer

with warnings.catch_warnings():
    # python-binance 1.0.37 imports websockets' legacy client, deprecated upstream
    warnings.simplefilter("ignore", DeprecationWarning)
    import binance  # noqa: F401

REPO = Path(__file__).resolve().parents[1]

#: tests that run python-binance (the exchange, the simulator, the services, the runtime)
_BINANCE = ("tests/exchange/", "tests/services/trade/", "tests/services/market/", "tests/runtime/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in str(item.path) for part in _BINANCE):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))


SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared real-data folder is missing: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def btc_1m(shared_data: Path) -> Candles:
    return read_candles(shared_data / "BTCUSDT-1m.csv.gz")


@pytest.fixture(scope="session")
def btc_1h(shared_data: Path) -> Candles:
    return read_candles(shared_data / "BTCUSDT-1h.csv.gz")


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


# -- Redis (issue 16: the bus between processes) --------------------------------------


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server (append-only, fsync always) on a free loopback port."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()
