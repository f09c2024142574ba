"""JSON for responses and stream frames: orjson, with NaN and infinities as null.

JSON has no NaN: an indicator still warming up, or a kline field the
exchange did not send, is ``null`` on the wire.
"""

from __future__ import annotations

import math
from typing import Any

import orjson


def finite(x: Any) -> Any:
    """``x`` with every non-finite float (nested in dicts, lists, tuples) replaced by None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x


def dumps(x: Any) -> bytes:
    """UTF-8 JSON of ``x`` (numpy values included), non-finite floats as null."""
    return orjson.dumps(finite(x), option=orjson.OPT_SERIALIZE_NUMPY)
