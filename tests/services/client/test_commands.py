"""The command line, run as real subprocesses; and the migrations against the models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from avd.net import free_port as _free_port
from avd.store.database import sync_url
from avd.store.migrate import alembic_config, upgrade
from avd.store.models import Base
from tests.polling import wait_http_ok

AVD = [str(Path(sys.executable).with_name("avd"))]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVD_")}
    env["AVD_DATA_DIR"] = str(tmp_path / "data")
    return env


def _config(tmp_path: Path, database_url: str) -> Path:
    cfg = tmp_path / "client.json"
    cfg.write_text(
        json.dumps(
            {
                "database_url": database_url,
                "argon2": {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1},
            }
        )
    )
    return cfg


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # idempotent
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
        assert ctx.get_current_revision() == HEAD
    engine.dispose()


def test_db_upgrade_and_admin_create(tmp_path: Path, database_url: str) -> None:
    cfg = _config(tmp_path, database_url)
    env = _env(tmp_path)
    r = subprocess.run(
        [*AVD, "db", "upgrade", "--config", str(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert f"at revision {HEAD}" in r.stdout
    env["AVD_ADMIN_PASSWORD"] = "an admin password"
    cmd = [*AVD, "admin", "create", "--email", "Boss@Example.com", "--config", str(cfg)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "admin boss@example.com created" in r.stdout
    assert "an admin password" not in r.stdout + r.stderr
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = subprocess.run(
        [
            *AVD,
            "admin",
            "create",
            "--email",
            "x@example.com",
            "--password",
            "short",
            "--config",
            str(cfg),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2


def test_serve_client_really_serves(tmp_path: Path) -> None:
    port = _free_port()
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'served.db'}")
    env = _env(tmp_path)
    proc = subprocess.Popen(
        [
            *AVD,
            "serve",
            "client",
            "--config",
            str(cfg),
            "--data-dir",
            str(tmp_path / "d"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        r = wait_http_ok(
            f"http://127.0.0.1:{port}/openapi.json", "avd serve client", proc=proc, timeout=30
        )
        assert r.status_code == 200 and "/client/me" in r.json()["paths"]
        base = f"http://127.0.0.1:{port}"
        body = {"email": "served@example.com", "password": "correct horse battery"}
        assert httpx.post(f"{base}/auth/register", json=body).status_code == 201
        assert httpx.post(f"{base}/auth/login", json=body).status_code == 200
        assert httpx.get(f"{base}/client/me").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    text = out.decode()
    assert "correct horse battery" not in text
    assert (tmp_path / "d" / "jwt.secret").stat().st_mode & 0o077 == 0
    assert (tmp_path / "d" / "logs" / "client.log").exists()


def test_keys_rotate(tmp_path: Path, database_url: str) -> None:
    import asyncio
    from decimal import Decimal  # noqa: F401

    from avd.services.client import schemas as m
    from avd.services.client.service import ClientService
    from tests.services.client.conftest import make_settings

    data = tmp_path / "data"
    settings = make_settings(data, database_url)
    secret = "R" * 60 + "OTAT"

    async def add() -> int:
        svc = ClientService(settings)
        await svc.start()
        user = await svc.create_user("rot@example.com", "correct horse battery", "client")
        await svc.add_api_key(user.id, m.ApiKeyCreate(api_key="K" * 64, api_secret=secret), None)
        await svc.stop()
        return user.id

    async def read(uid: int) -> str:
        svc = ClientService(settings)
        await svc.start()
        try:
            return (await svc.credentials(uid, None)).api_secret
        finally:
            await svc.stop()

    uid = asyncio.run(add())
    old_key = (data / "fernet.keys").read_text()
    cfg = _config(tmp_path, database_url)
    r = subprocess.run(
        [*AVD, "keys", "rotate", "--config", str(cfg), "--data-dir", str(data)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "1 secrets re-encrypted" in r.stdout
    new_key = (data / "fernet.keys").read_text()
    assert new_key != old_key and len(new_key.split()) == 1
    assert (data / "fernet.keys").stat().st_mode & 0o077 == 0
    # decrypts with the new key alone
    assert asyncio.run(read(uid)) == secret


def test_keys_rotate_signing_keeps_the_previous_key_published(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'rot.db'}")

    def rotate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*AVD, "keys", "rotate-signing", "--config", str(cfg), "--data-dir", str(data)],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )

    r = rotate()  # the first run creates the key file, then rotates it
    assert r.returncode == 0, r.stderr
    first = (data / "jwt-signing.keys").read_text().split()
    assert len(first) == 2
    r = rotate()
    assert r.returncode == 0, r.stderr
    second = (data / "jwt-signing.keys").read_text().split()
    # a new key first, the previous one kept, the one before dropped
    assert len(second) == 2 and second[1] == first[0] and second[0] not in first
    assert (data / "jwt-signing.keys").stat().st_mode & 0o077 == 0
    for seed in first + second:
        assert seed not in r.stdout + r.stderr
    assert "published:" in r.stdout
