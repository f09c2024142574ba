"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]

_NUMERIC_KINDS = frozenset("iuf")


def as_float_array(name: str, value: Any) -> FloatArray:
    """Coerce one input series to a contiguous 1-D float64 array.

    Lists, tuples, pandas Series and non-contiguous arrays are accepted;
    ``None`` inside an object sequence becomes NaN.

    Raises
    ------
    TypeError
        If ``value`` is not numeric (strings, booleans, objects, ...).
    ValueError
        If ``value`` is not one-dimensional.
    """
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a sequence of numbers: {exc}") from exc
    if raw.dtype.kind not in _NUMERIC_KINDS:
        if raw.dtype.kind != "O":
            raise TypeError(f"`{name}` must be a sequence of numbers, got dtype {raw.dtype}")
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a sequence of numbers: {exc}") from exc
    if raw.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got {raw.ndim} dimensions")
    return np.ascontiguousarray(raw, dtype=np.float64)


def as_int_array(name: str, value: Any) -> IntArray:
    """Coerce integer milliseconds (or counts) to a contiguous 1-D int64 array.

    Raises
    ------
    TypeError
        If ``value`` is not of an integer dtype.
    ValueError
        If ``value`` is not one-dimensional.
    """
    a = np.asarray(value)
    if a.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be integers (e.g. ms timestamps), got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got {a.ndim} dimensions")
    return np.ascontiguousarray(a, dtype=np.int64)


def as_bool_array(name: str, value: Any) -> BoolArray:
    """Coerce a boolean mask to a contiguous 1-D bool array.

    Raises
    ------
    TypeError
        If ``value`` is not of the bool dtype.
    ValueError
        If ``value`` is not one-dimensional.
    """
    a = np.asarray(value)
    if a.dtype != np.bool_:
        raise TypeError(f"`{name}` must be a boolean array, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got {a.ndim} dimensions")
    return np.ascontiguousarray(a)
