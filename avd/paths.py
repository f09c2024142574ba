"""Where AVD keeps its files.

The data folder holds the SQLite database, generated secrets and logs. It is
``./avd-data`` under the working directory unless ``--data-dir`` or the
``AVD_DATA_DIR`` environment variable says otherwise.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_DATA_DIR = "avd-data"


def data_dir(explicit: str | Path | None = None, *, create: bool = True) -> Path:
    """Resolve the data folder: ``explicit``, else ``$AVD_DATA_DIR``, else ``./avd-data``.

    The folder is created (mode 0700) when ``create`` is true.
    """
    chosen = explicit or os.environ.get("AVD_DATA_DIR") or DEFAULT_DATA_DIR
    path = Path(chosen).expanduser().resolve()
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def move_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename ``path`` to ``<path>.<UTC time>`` beside it and return the new path.

    Nothing is deleted: a name already taken gets a counter
    (``avd-data.20260422T120700Z.2``).
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{stamp}.{n}")
    # same folder, same file system: one atomic rename
    path.rename(target)
    return target
