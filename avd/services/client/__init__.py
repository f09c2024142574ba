"""The Client service: accounts, 2FA, exchange keys, prepaid fees, parameters, history."""

from __future__ import annotations

from avd.services.client.app import create_app, mount
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings

__all__ = ["ClientService", "ClientSettings", "create_app", "mount"]
