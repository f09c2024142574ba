"""AVD's exception tree (created by the Rust core, re-exported here).

``AvdError`` is the root. The errors about bad values also derive from
:class:`ValueError`, so ``except ValueError`` keeps working.
``BookGapError`` (a local order book missed depth updates and must be
resynced from a new snapshot) derives from ``AvdError`` only.
"""

from __future__ import annotations

from avd._core import (
    AvdError,
    BookGapError,
    ConfigError,
    DataError,
    InvalidInputError,
    InvalidParameterError,
)

__all__ = [
    "AvdError",
    "BookGapError",
    "ConfigError",
    "DataError",
    "InvalidInputError",
    "InvalidParameterError",
]
