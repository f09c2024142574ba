"""The Client service's routes: the only part of it that knows HTTP.

:func:`routes` returns plain Starlette routes bound to one
:class:`~avd.services.client.service.ClientService`, so the all-in-one process can
serve them on its one port next to the other services. One module per prefix:
``auth`` (``/auth/*`` and ``/.well-known/jwks.json``), ``client``
(``/client/*``), ``internal`` (``/client/internal/*``, service token) and
``admin`` (``/admin/*``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from avd.services.client.routes import admin, auth, client, internal
from avd.services.client.service import ClientService


def routes(service: ClientService) -> list[BaseRoute]:
    """Every route of the Client service, bound to ``service``."""
    return [
        *auth.routes(service),
        *client.routes(service),
        *internal.routes(service),
        *admin.routes(service),
    ]
