"""Exact decimals at the protocol boundary.

Market values are held as integers in units of 1e-8 (Binance's 8 decimals),
orders and balances as :class:`~decimal.Decimal`; both print as the
8-decimal strings Binance sends.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

import numpy as np

from avd.types import FloatArray

SCALE = 100_000_000
EIGHT = Decimal("0.00000001")
ZERO = Decimal(0)
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


def fmt_units(units: int) -> str:
    """``12345`` -> ``"0.00012345"``."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(units), SCALE)
    return f"{sign}{q}.{r:08d}"


def fmt_dec(value: Decimal) -> str:
    """A Decimal as an 8-decimal string (truncated)."""
    return format(value.quantize(EIGHT, rounding=ROUND_DOWN), "f")


def to_units(values: FloatArray) -> np.ndarray:
    """Float column -> int64 units of 1e-8 (NaN -> -1)."""
    out = np.full(values.shape, -1, dtype=np.int64)
    ok = ~np.isnan(values)
    out[ok] = np.rint(values[ok] * SCALE).astype(np.int64)
    return out


def units_to_dec(units: int) -> Decimal:
    """Units of 1e-8 -> Decimal."""
    return Decimal(units).scaleb(-8)


def dec_to_units(value: Decimal) -> int:
    """Decimal -> units of 1e-8 (truncated)."""
    return int((value * SCALE).to_integral_value(rounding=ROUND_DOWN))


def parse_decimal(text: str) -> Decimal | None:
    """A request decimal, or None when it is not Binance's plain decimal form."""
    if not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex rules it out
        return None


def decimals_of(values: FloatArray, most: int = 8) -> int:
    """The fewest decimals that represent every value of a column exactly."""
    finite = values[~np.isnan(values)]
    for d in range(most + 1):
        scaled = finite * 10.0**d
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-3):
            return d
    return most
