"""Property-based run of the whole API from its own /openapi.json: no 5xx, ever."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from avd.services.client.app import create_app
from tests.services.client.conftest import PASSWORD, make_settings

HEADERS: dict[str, dict[str, str]] = {}


_FOLDER = Path(tempfile.mkdtemp(prefix="avd-schemathesis-"))
atexit.register(shutil.rmtree, _FOLDER, True)
APP = create_app(
    make_settings(_FOLDER, f"sqlite:///{_FOLDER / 'client.db'}", login={"rate_limit": 100_000})
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def accounts() -> None:
    """A client (with funds and a key), an admin, and the service token."""
    if HEADERS:
        return
    svc = APP.state.client_service
    client = asgi.get_client(APP)
    client.post("/auth/register", json={"email": "fuzz@example.com", "password": PASSWORD})
    login = {"email": "fuzz@example.com", "password": PASSWORD}
    token = client.post("/auth/login", json=login).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    client.post(
        "/client/deposit", json={"amount": "100", "idempotency_key": "seed"}, headers=bearer
    )
    keys = {"api_key": "K" * 20, "api_secret": "S" * 20}
    client.post("/client/api-keys", json=keys, headers=bearer)
    asgi._get_portal().call(svc.create_user, "fuzzadmin@example.com", PASSWORD, "admin")
    login = {"email": "fuzzadmin@example.com", "password": PASSWORD}
    admin = client.post("/auth/login", json=login).json()["access_token"]
    HEADERS["client"] = bearer
    HEADERS["admin"] = {"Authorization": f"Bearer {admin}"}
    HEADERS["service"] = {"Authorization": f"Bearer {svc._service_token}"}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case: Any) -> None:
    if case.path.startswith("/admin"):
        who = "admin"
    elif case.path.startswith("/client/internal"):
        who = "service"
    else:
        who = "client"
    case.call_and_validate(headers=HEADERS[who], checks=[not_a_server_error])
