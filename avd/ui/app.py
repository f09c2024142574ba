"""Install the dashboards' pages and serve them beside the API on one port."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avd.secret_files import read_or_create
from avd.ui.settings import ServiceUrls

if TYPE_CHECKING:
    from starlette.applications import Starlette

#: path → ``module:function`` of every page (path parameters as in Starlette); none may be
#: a GET route of a service, which answers first on ``avd run``'s one port (the Client
#: service has ``GET /admin/clients/{id}``, ``/admin/journal``, ``/admin/parameters``)
PAGES: tuple[tuple[str, str], ...] = (
    ("/login", "avd.ui.pages.login:login_page"),
    ("/register", "avd.ui.pages.login:register_page"),
    ("/logout", "avd.ui.pages.login:logout_page"),
    ("/", "avd.ui.client.market:market_page"),
    ("/symbol/{symbol}", "avd.ui.client.chart:symbol_page"),
    ("/positions", "avd.ui.client.positions:positions_page"),
    ("/history", "avd.ui.client.history:history_page"),
    ("/funds", "avd.ui.client.funds:funds_page"),
    ("/bot", "avd.ui.client.bot:bot_page"),
    ("/keys", "avd.ui.client.keys:keys_page"),
    ("/security", "avd.ui.client.security:security_page"),
    ("/admin", "avd.ui.admin.clients:clients_page"),
    ("/admin/client/{client_id}", "avd.ui.admin.clients:client_page"),
    ("/admin/audit", "avd.ui.admin.journal:journal_page"),
    ("/admin/settings", "avd.ui.admin.parameters:parameters_page"),
    ("/admin/health", "avd.ui.admin.health:health_page"),
)

#: the file (0600, in the data folder) holding the secret that signs the browser cookie
STORAGE_SECRET_FILE = "ui-storage.secret"


def install(urls: ServiceUrls | Callable[[], ServiceUrls]) -> None:
    """Register every page, talking to the services at ``urls``."""
    import logging

    from nicegui import app, ui

    from avd.ui import session, state

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per API call

    shared = state.bind(urls)
    session.forget_all()
    app.on_shutdown(shared.market.stop)
    app.on_shutdown(shared.api.close)
    for path, target in PAGES:
        module, name = target.split(":")
        page: Any = getattr(importlib.import_module(module), name)
        ui.page(path, title="AVD")(page)


def storage_secret(data_dir: Path) -> str:
    """The cookie-signing secret, generated once in ``data_dir``."""
    import secrets

    return read_or_create(data_dir / STORAGE_SECRET_FILE, lambda: secrets.token_urlsafe(32))


def mount(app: Starlette, urls: ServiceUrls | Callable[[], ServiceUrls], data_dir: Path) -> None:
    """Serve the dashboards from ``app`` (its own routes keep precedence)."""
    from nicegui import ui

    install(urls)
    ui.run_with(
        app,  # type: ignore[arg-type]  # NiceGUI wants FastAPI; a Starlette app does
        title="AVD",
        favicon="📈",
        storage_secret=storage_secret(data_dir),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
