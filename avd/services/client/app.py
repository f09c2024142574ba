"""The Client service as a Starlette app (alone), or as routes to mount (all-in-one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

import avd
from avd.services.client.routes import routes
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.web.errors import EXCEPTION_HANDLERS
from avd.web.openapi import openapi_route
from avd.web.startup import StartupFailure, StartupGuard

TITLE = "AVD Client service"
DESCRIPTION = (
    "Accounts, authentication with 2FA, encrypted exchange keys, the prepaid-fee ledger, "
    "bot parameters and history. Decimals are strings in and out; JSON numbers are refused."
)


def create_app(
    settings: ClientSettings,
    *,
    service: ClientService | None = None,
    around: Callable[[], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The Client service alone: its routes and ``/openapi.json``.

    Migrations run at startup (lifespan); the app also starts lazily on the
    first request if it is served without a lifespan. ``around`` is entered
    around the service's life (the runtime's event bus).
    """
    svc = service if service is not None else ClientService(settings)
    own = routes(svc)
    failure = StartupFailure()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if around is None:
            await svc.start()
            try:
                yield
            finally:
                await svc.stop()
            return
        async with around():
            await svc.start()
            try:
                yield
            finally:
                await svc.stop()

    app = Starlette(
        routes=[*own, openapi_route(TITLE, avd.__version__, lambda: own, description=DESCRIPTION)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        middleware=[Middleware(StartupGuard, failure=failure)],
    )
    app.state.client_service = svc
    app.state.startup_failure = failure
    return app


def mount(service: ClientService) -> list[BaseRoute]:
    """The routes to add to the all-in-one app (call ``service.start()`` in its lifespan)."""
    return routes(service)
