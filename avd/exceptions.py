"""AVD's exception tree (created by the Rust core, re-exported here).

``AvdError`` is the root. The errors about bad values also derive from
:class:`ValueError`, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from avd._core import (
    AvdError,
    ConfigError,
    DataError,
    InvalidInputError,
    InvalidParameterError,
)

__all__ = ["AvdError", "ConfigError", "DataError", "InvalidInputError", "InvalidParameterError"]
