"""Amounts on the wire: decimal strings (``"100.50"``), never JSON numbers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator, WithJsonSchema

from avd.store.money import MAX_AMOUNT, SCALE, money_str

_PATTERN = rf"^-?[0-9]{{1,12}}(\.[0-9]{{1,{SCALE}}})?$"
_RE = re.compile(_PATTERN)


def _parse(value: Any) -> Decimal:
    if isinstance(value, Decimal):  # from Python callers
        text = f"{value:f}"
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError('amounts are decimal strings like "100.50", not JSON numbers')
    if not _RE.fullmatch(text):
        raise ValueError(f'not a decimal amount with at most {SCALE} decimals (like "100.50")')
    amount = Decimal(text)
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("the amount is too large")
    return amount


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("the amount must be greater than zero")
    return amount


def _non_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("the amount must not be negative")
    return amount


def _non_zero(amount: Decimal) -> Decimal:
    if amount == 0:
        raise ValueError("the amount must not be zero")
    return amount


def _schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "examples": ["100.50"], "description": description}
    )


_SER = PlainSerializer(money_str, return_type=str)
_UNSIGNED = _PATTERN.replace("^-?", "^")

Money = Annotated[
    Decimal, PlainValidator(_parse), _SER, _schema(_PATTERN, "a signed decimal amount")
]
PositiveMoney = Annotated[
    Decimal,
    PlainValidator(_parse),
    AfterValidator(_positive),
    _SER,
    _schema(_UNSIGNED, "a decimal amount greater than zero"),
]
NonNegativeMoney = Annotated[
    Decimal,
    PlainValidator(_parse),
    AfterValidator(_non_negative),
    _SER,
    _schema(_UNSIGNED, "a decimal amount, zero or more"),
]
NonZeroMoney = Annotated[
    Decimal,
    PlainValidator(_parse),
    AfterValidator(_non_zero),
    _SER,
    _schema(_PATTERN, "a signed decimal amount other than zero"),
]
