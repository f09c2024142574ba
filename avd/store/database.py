"""Engine and session creation for SQLite (embedded) and PostgreSQL (by URL).

Write transactions go through :meth:`Database.write`. On SQLite they start
with ``BEGIN IMMEDIATE`` (the database write lock is taken up front, so two
writers never interleave a read-then-write) and are also serialized inside
the process by an asyncio lock, which spares the busy-wait. On PostgreSQL
the repositories lock the account row with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from avd.exceptions import ConfigError

_WRITE = "avd_write"
SQLITE_BUSY_TIMEOUT_S = 30.0


def default_sqlite_url(data_dir: Path, name: str = "client.db") -> str:
    """The embedded database in the data folder."""
    return f"sqlite+aiosqlite:///{data_dir / name}"


def async_url(url: str) -> URL:
    """``url`` with the async driver AVD uses (aiosqlite, psycopg 3)."""
    try:
        u = make_url(url)
    except Exception:
        raise ConfigError(f"not a database URL: {_redact(url)}") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return u.set(drivername="postgresql+psycopg")
    raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")


def sync_url(url: str) -> URL:
    """``url`` with a synchronous driver (for migrations)."""
    u = async_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite")
    return u  # psycopg 3 serves both


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable>"


def configure_sqlite(engine_sync: Any) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE for writes (BEGIN for reads)."""

    @event.listens_for(engine_sync, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, emit BEGIN
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine_sync, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An async engine, its session factory and the write discipline."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            configure_sqlite(self.engine.sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._lock: asyncio.Lock | None = None

    @property
    def display_url(self) -> str:
        """The URL without its password (for logs)."""
        return self.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session in a read transaction."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success."""
        if not self.is_sqlite:
            async with self.sessions() as session, session.begin():
                yield session
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock, self.sessions() as session:
            # procuring the connection with the option begins the transaction
            await session.connection(execution_options={_WRITE: True})
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def upgrade(self) -> None:
        """Apply the migrations (in a worker thread: Alembic is synchronous)."""
        from avd.store.migrate import upgrade

        await asyncio.to_thread(upgrade, self.url.render_as_string(hide_password=False))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
