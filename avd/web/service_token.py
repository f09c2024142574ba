"""The service token: how the services authenticate to one another.

One shared secret for every service of a deployment: ``AVD_SERVICE_TOKEN``
when it is set (the way to give it to services with separate data folders),
else the ``service.token`` file of the data folder, created 0600 at first
start (enough when the services share a folder, as in ``avd run``).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from avd.secret_files import read_or_create

ENV = "AVD_SERVICE_TOKEN"
FILE = "service.token"


def service_token(data_dir: Path, configured: str | None = None) -> str:
    """The deployment's service token (``configured``, else the environment, else the file)."""
    if configured:
        return configured
    given = os.environ.get(ENV, "").strip()
    if given:
        return given
    return read_or_create(data_dir / FILE, lambda: secrets.token_urlsafe(32))


def is_service_token(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the service token (compared in constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
