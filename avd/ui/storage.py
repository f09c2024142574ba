"""NiceGUI's server-side storage in Redis when the deployment has a bus.

NiceGUI keeps ``app.storage.user`` (per browser), ``app.storage.general``
and, with Redis, ``app.storage.tab`` in files of the UI process, or in
Redis when ``NICEGUI_REDIS_URL`` names one (NiceGUI 3.x,
``nicegui.persistence.RedisPersistentDict``; keys ``avd:ui:user-<id>`` here,
kept in step between processes by Redis pub/sub). With ``--bus`` the
dashboards use the bus's Redis for it.

The logged-in users' tokens stay in each UI process's memory
(:mod:`avd.ui.session`: never in a storage): several UI processes behind one
address need **sticky sessions** (the load balancer sends a browser to the
same process every time, e.g. by the ``session`` cookie or the client's
address), and a browser sent to another process logs in again.
"""

from __future__ import annotations

import os
import sys

#: the keys' prefix in Redis, after the bus's own prefix
KEY_PREFIX = "ui:"


def use_redis(url: str, prefix: str = "avd:") -> None:
    """Keep NiceGUI's storage in Redis at ``url`` (call before the pages are served).

    Before NiceGUI is imported, its environment variables say it; after, its
    storage is made again the way NiceGUI's own test fixtures do.
    """
    key_prefix = prefix + KEY_PREFIX
    os.environ["NICEGUI_REDIS_URL"] = url
    os.environ["NICEGUI_REDIS_KEY_PREFIX"] = key_prefix
    if "nicegui" not in sys.modules:
        return
    from nicegui import app
    from nicegui.storage import Storage

    if Storage.redis_url == url and Storage.redis_key_prefix == key_prefix:
        return
    Storage.redis_url = url
    Storage.redis_key_prefix = key_prefix
    app.storage = Storage()
    app.storage.general.initialize_sync()
    app.on_shutdown(app.storage.on_shutdown)


def in_redis() -> str | None:
    """The Redis URL NiceGUI's storage lives in, or None (files of this process)."""
    if "nicegui" not in sys.modules:
        return os.environ.get("NICEGUI_REDIS_URL")
    from nicegui.storage import Storage

    return Storage.redis_url
