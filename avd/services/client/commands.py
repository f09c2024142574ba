"""``avd serve client``, ``avd admin create``, ``avd db upgrade``, ``avd keys rotate[-signing]``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from starlette.applications import Starlette

from avd.console import one_line_errors, run_server
from avd.net import check_port_free
from avd.services.client.settings import ClientSettings
from avd.settings import load_settings

admin_app = typer.Typer(help="Administer accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the encryption keys.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Client service configuration (JSON).")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $AVD_DATA_DIR or ./avd-data)."),
]


#: the runtime's factory of the app alone (its event bus), set by :func:`register`
_app_factory: list[Callable[[ClientSettings], Starlette]] = []


def _settings(config: Path | None, data_dir: Path | None, **more: Any) -> ClientSettings:
    overrides: dict[str, Any] = {k: v for k, v in more.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return load_settings(ClientSettings, config, **overrides)


def _logging(settings: ClientSettings) -> None:
    logs = settings.resolved_data_dir() / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(logs / "client.log")],
    )


@one_line_errors
def serve_client(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    bus: Annotated[
        str | None,
        typer.Option(
            "--bus",
            help="Redis Streams between the processes, e.g. redis://127.0.0.1:6379/0: "
            "client changes (parameters, blocking) go out on it.",
        ),
    ] = None,
) -> None:
    """Serve the Client service alone (migrations are applied at start).

    SIGINT or SIGTERM stops it cleanly (exit status 0).
    """
    from avd.services.client.app import create_app
    from avd.web.server import run

    settings = _settings(config, data_dir, host=host, port=port, bus=bus)
    check_port_free(settings.host, settings.port)
    _logging(settings)
    app = _app_factory[0](settings) if _app_factory else create_app(settings)
    run_server(
        lambda: run(app, settings.host, settings.port),
        app.state.startup_failure,
        "the Client service",
    )


@one_line_errors
def admin_create(
    email: Annotated[str, typer.Option("--email", help="The admin's email.")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="AVD_ADMIN_PASSWORD",
            help="Prompted for when not given (or taken from $AVD_ADMIN_PASSWORD).",
        ),
    ],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an admin account (the first one, or another)."""
    from avd.domain.errors import Refusal
    from avd.services.client import schemas as m
    from avd.services.client.service import ClientService

    try:
        req = m.RegisterRequest(email=email, password=password)
    except ValueError:
        typer.echo(
            "error: a valid email and a password of 10 to 256 characters are needed", err=True
        )
        raise typer.Exit(2) from None

    async def run() -> int:
        svc = ClientService(_settings(config, data_dir))
        try:
            await svc.start()
            return (await svc.create_user(req.email, req.password, "admin")).id
        finally:
            await svc.stop()

    try:
        user_id = asyncio.run(run())
    except Refusal as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"admin {req.email} created (id {user_id})")


@one_line_errors
def db_upgrade(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Apply the database migrations (also done automatically at start)."""
    from avd.store.database import Database
    from avd.store.migrate import current, upgrade

    settings = _settings(config, data_dir)
    url = settings.resolved_database_url()
    upgrade(url)
    shown = Database(url)
    typer.echo(f"{shown.display_url}: at revision {current(url)}")


@one_line_errors
def keys_rotate(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Re-encrypt the stored exchange keys (and 2FA secrets) under a new Fernet key.

    With the keys in the data folder, a new key is generated, everything is
    re-encrypted, and the old keys are dropped. With ``AVD_CLIENT_FERNET_KEYS``,
    put the new key first in that list; this re-encrypts under it, after which
    the old keys can be removed from the list.
    """
    from cryptography.fernet import Fernet

    from avd.services.client.auth.keyring import KeyRing
    from avd.services.client.service import ClientService

    settings = _settings(config, data_dir)

    async def run() -> int:
        svc = ClientService(settings)
        try:
            await svc.start()
            if svc.keys_from_env:
                return await svc.reencrypt(svc.keyring)
            old = KeyRing.parse(svc.keyring_path.read_text(encoding="utf-8"))
            new = Fernet.generate_key().decode()
            # the new key first and the old ones kept until every row is rewritten
            KeyRing.save(svc.keyring_path, [new, *old])
            count = await svc.reencrypt(KeyRing([new, *old]))
            KeyRing.save(svc.keyring_path, [new])
            return count
        finally:
            await svc.stop()

    count = asyncio.run(run())
    typer.echo(f"{count} secrets re-encrypted under the new key")


@one_line_errors
def keys_rotate_signing(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Sign access tokens with a new Ed25519 key; the previous key is still published.

    Restart the Client service to sign with the new key. The previous key stays
    in ``GET /.well-known/jwks.json``, so the tokens it signed keep verifying
    until they expire (the other services fetch the new key when they first see
    its ``kid``). With ``AVD_CLIENT_JWT_SIGNING_KEYS``, put a new key first in
    that list instead (``python -c "from avd.services.client.auth.signing import
    new_seed; print(new_seed())"``).
    """
    from avd.exceptions import ConfigError
    from avd.services.client.auth.signing import SigningKeys
    from avd.services.client.service import SIGNING_KEYS_FILE

    settings = _settings(config, data_dir)
    if settings.jwt_signing_keys is not None:
        raise ConfigError(
            "the signing keys come from AVD_CLIENT_JWT_SIGNING_KEYS: put a new key first there"
        )
    keys = SigningKeys.rotate_file(settings.resolved_data_dir() / SIGNING_KEYS_FILE)
    kids = [k["kid"] for k in keys.jwks()["keys"]]
    typer.echo(f"access tokens are now signed with key {kids[0]}; published: {', '.join(kids)}")


def register(
    app: typer.Typer,
    serve: typer.Typer,
    app_factory: Callable[[ClientSettings], Starlette] | None = None,
) -> None:
    """Add ``avd serve client``, ``avd admin``, ``avd db`` and ``avd keys``.

    ``app_factory`` makes the service's app alone (the runtime's, with its
    event bus); by default :func:`avd.services.client.app.create_app`.
    """
    if app_factory is not None:
        _app_factory[:] = [app_factory]
    serve.command("client")(serve_client)
    admin_app.command("create")(admin_create)
    db_app.command("upgrade")(db_upgrade)
    keys_app.command("rotate")(keys_rotate)
    keys_app.command("rotate-signing")(keys_rotate_signing)
    app.add_typer(admin_app, name="admin")
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
