"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from avd.store.database import sync_url

MIGRATIONS = Path(__file__).with_name("migrations")
#: Alembic keeps its ``op`` and ``context`` in module globals: one upgrade at a
#: time per process (two services in one process may start together)
_UPGRADING = threading.Lock()
#: the PostgreSQL advisory lock that serializes upgrades across processes
_LOCK_KEY = 0x41564430


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (synchronous)."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with _UPGRADING, engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # several processes (trade workers) may start on one database
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The revision the database is at (``None`` when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
