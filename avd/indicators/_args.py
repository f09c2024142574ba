"""The checks every batch indicator applies to its arguments before the Rust core sees them."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avd.types import as_float_array

Array = NDArray[np.float64]

# Python ints beyond the core's 64-bit range are clamped: a longer window than
# any series simply never warms up, and a hugely negative one is rejected.
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def series_arg(name: str, value: Any) -> Array:
    """Coerce one input series (see :func:`avd.types.as_float_array`)."""
    return as_float_array(name, value)


def int_arg(name: str, value: Any) -> int:
    """Validate an integer parameter (range checks are left to the core)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    return max(_I64_MIN, min(_I64_MAX, int(value)))


def float_arg(name: str, value: Any) -> float:
    """Validate a real-valued parameter (finiteness is checked by the core)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    return float(value)
