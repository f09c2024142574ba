"""Alembic environment: runs on the connection handed in by avd.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from avd.store.models import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    """Run the migrations on ``connection`` (online mode only)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_conn = context.config.attributes.get("connection")
if _conn is None:
    raise RuntimeError("run the AVD migrations through `avd db upgrade`")
run(_conn)
