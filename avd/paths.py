"""Where AVD keeps its files.

The data folder holds the SQLite database, generated secrets and logs. It is
``./avd-data`` under the working directory unless ``--data-dir`` or the
``AVD_DATA_DIR`` environment variable says otherwise.
"""

from __future__ import annotations

import os
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
