"""Client service fixtures (the database fixtures are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from avd.services.client.app import create_app
from avd.services.client.settings import ClientSettings

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1}
PASSWORD = "correct horse battery"


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
