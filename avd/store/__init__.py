"""Persistence: SQLAlchemy 2 models, repositories and Alembic migrations.

SQLite in the data folder is the embedded default; PostgreSQL is selected by
a ``postgresql://`` URL.
"""

from __future__ import annotations

from avd.store.database import Database, default_sqlite_url

__all__ = ["Database", "default_sqlite_url"]
