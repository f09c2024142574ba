"""The Client service: accounts, 2FA, exchange keys, prepaid fees, parameters, history."""

from __future__ import annotations

from avd.api.client.app import create_app, mount
from avd.api.client.gateway import ClientGateway, LocalClientGateway, RestClientGateway
from avd.api.client.service import ClientService
from avd.api.client.settings import ClientSettings

__all__ = [
    "ClientGateway",
    "ClientService",
    "ClientSettings",
    "LocalClientGateway",
    "RestClientGateway",
    "create_app",
    "mount",
]
