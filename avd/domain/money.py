"""Decimals on the wire: JSON strings in, one canonical string per field out.

The rule, for every decimal field of every request and response body of the
AVD services:

* **In**, a decimal is a JSON string: digits, optionally a point and more
  digits, optionally a leading minus (``"100.50"``, ``"0.00151"``,
  ``"65000"``); no exponent, no ``NaN``. A JSON number is refused everywhere
  with the same 422 message (:data:`NUMBER_REFUSED`): a float such as
  ``0.1`` has already lost its exact value by the time it is parsed. Python
  callers may pass :class:`~decimal.Decimal` objects (and ints, which are
  exact).
* **Out**, each field has one canonical form, whatever the computation that
  produced it:

  - money amounts (balances, P&L, fees, equity, exposure, money limits):
    :func:`money_out`, two to eight decimals (``"100.50"``, ``"0.00"``,
    ``"-3.57"``, ``"0.00000123"``);
  - prices, quantities, percents and ratios: :func:`decimal_out`, the plain
    normalized decimal, no exponent, no trailing zeros, ``"0"`` for zero
    (``"0.00151"``, ``"65000"``, ``"2.5"``).

The types, to annotate pydantic fields with:

=====================  ===========================================  ==================
type                   accepts (request bodies)                     serializes as
=====================  ===========================================  ==================
``Money`` and kin      an amount string, at most 8 decimals         money form
``DecimalIn``          a decimal string (constrain with ``Field``)  plain form
``MoneyOut``           (responses only)                             money form
``DecimalOut``         (responses only)                             plain form
=====================  ===========================================  ==================

``PositiveMoney``, ``NonNegativeMoney`` and ``NonZeroMoney`` add their sign
rule to ``Money``. The OpenAPI schema of every one of them is a string with
the pattern of its form.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

SCALE = 8
QUANTUM = Decimal(1).scaleb(-SCALE)
# The largest amount a signed 64-bit count of atoms can hold (~92 billion).
MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-SCALE)


def to_atoms(amount: Decimal) -> int:
    """``amount`` as an integer count of 1e-8 units; refuses a finer precision."""
    try:
        atoms = amount.scaleb(SCALE)
    except InvalidOperation:  # pragma: no cover - only for NaN and friends
        raise ValueError(f"not a finite amount: {amount}") from None
    if not atoms.is_finite() or atoms != atoms.to_integral_value():
        raise ValueError(f"an amount has at most {SCALE} decimals: {amount}")
    return int(atoms)


def from_atoms(atoms: int) -> Decimal:
    """The ``Decimal`` for an integer count of 1e-8 units."""
    return Decimal(atoms).scaleb(-SCALE)


def money_str(amount: Decimal) -> str:
    """A decimal string with at least two and at most eight decimals (``"100.50"``)."""
    q = amount.quantize(QUANTUM)
    text = f"{q:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


#: the one message for a decimal sent as a JSON number, on every endpoint
NUMBER_REFUSED = 'decimals are JSON strings like "100.50", not JSON numbers'

#: validation context for data this platform stored itself (see :func:`_text`)
STORED: dict[str, Any] = {"avd_decimals": "stored"}

_AMOUNT_IN = rf"^-?[0-9]{{1,12}}(\.[0-9]{{1,{SCALE}}})?$"
_DECIMAL_IN = r"^-?[0-9]{1,30}(\.[0-9]{1,30})?$"
#: what :func:`decimal_out` writes: no exponent, no trailing zeros, "0" for zero
DECIMAL_OUT_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"
#: what :func:`money_out` writes: two to eight decimals
MONEY_OUT_PATTERN = rf"^-?(0|[1-9][0-9]*)\.[0-9]{{2}}([0-9]{{0,{SCALE - 3}}}[1-9])?$"
_AMOUNT_RE = re.compile(_AMOUNT_IN)
_DECIMAL_RE = re.compile(_DECIMAL_IN)


def decimal_out(value: Decimal) -> str:
    """The plain normalized form: ``"0.00151"``, ``"65000"``, ``"0"`` (exact, no rounding)."""
    if value == 0:
        return "0"  # also for 0E-8 and -0
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def money_out(value: Decimal) -> str:
    """The money form: two to eight decimals (``"100.50"``), never ``"-0.00"``."""
    text = money_str(value)
    return "0.00" if text == "-0.00" else text


def _plain(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text  # the pattern check refuses it
    return f"{value:f}" if value.is_finite() else text


def _text(value: Any, info: ValidationInfo) -> str:
    """A request's decimal as text; a JSON number (or any non-string) is refused.

    Under the :data:`STORED` context (rows this platform wrote, possibly with
    an older serializer: ``"1E+1"``, or numbers read with
    ``json.loads(parse_float=Decimal)``) any finite decimal is taken as is.
    """
    stored = info.context is not None and info.context.get("avd_decimals") == "stored"
    if isinstance(value, str):
        return _plain(value.strip()) if stored else value.strip()
    if isinstance(value, Decimal):  # from Python callers
        return f"{value:f}"
    if isinstance(value, int) and not isinstance(value, bool) and info.mode == "python":
        return str(value)  # exact; only Python callers and stored rows get here
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("decimal_number", NUMBER_REFUSED)
    raise PydanticCustomError("decimal_type", 'not a decimal: give a string like "100.50"')


def _parse_amount(value: Any, info: ValidationInfo) -> Decimal:
    text = _text(value, info)
    if not _AMOUNT_RE.fullmatch(text):
        raise PydanticCustomError(
            "decimal_amount",
            'not a decimal amount with at most {scale} decimals (like "100.50")',
            {"scale": SCALE},
        )
    amount = Decimal(text)
    if abs(amount) > MAX_AMOUNT:
        raise PydanticCustomError("decimal_amount_size", "the amount is too large")
    return amount


def _parse_decimal(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, Decimal):
        return value  # pydantic's decimal validation (and the field's bounds) follow
    text = _text(value, info)
    if not _DECIMAL_RE.fullmatch(text):
        raise PydanticCustomError(
            "decimal_string", 'not a decimal like "0.5" (digits and a point, no exponent)'
        )
    return Decimal(text)


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


def _string(pattern: str, description: str, example: str, mode: Any = None) -> WithJsonSchema:
    schema = {"type": "string", "pattern": pattern, "examples": [example]}
    return WithJsonSchema(schema | {"description": description}, mode=mode)


def _money_schema(mode: Any = None) -> WithJsonSchema:
    return _string(
        MONEY_OUT_PATTERN, "a money amount: a decimal string with 2 to 8 decimals", "100.50", mode
    )


def _decimal_schema(mode: Any = None) -> WithJsonSchema:
    return _string(
        DECIMAL_OUT_PATTERN,
        "a decimal string: no exponent, no trailing zeros, 0 for zero",
        "0.00151",
        mode,
    )


# The request types name the accepted input for validation and the canonical
# form for serialization (the outer annotation answers for its mode only).
_MONEY_SER = PlainSerializer(money_out, return_type=str)
_DECIMAL_SER = PlainSerializer(decimal_out, return_type=str, when_used="json")
_UNSIGNED = _AMOUNT_IN.replace("^-?", "^")


Money = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    _MONEY_SER,
    _string(_AMOUNT_IN, "a signed decimal amount", "100.50", "validation"),
    _money_schema("serialization"),
]
PositiveMoney = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    AfterValidator(_positive),
    _MONEY_SER,
    _string(_UNSIGNED, "a decimal amount greater than zero", "100.50", "validation"),
    _money_schema("serialization"),
]
NonNegativeMoney = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    AfterValidator(_non_negative),
    _MONEY_SER,
    _string(_UNSIGNED, "a decimal amount, zero or more", "100.50", "validation"),
    _money_schema("serialization"),
]
NonZeroMoney = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    AfterValidator(_non_zero),
    _MONEY_SER,
    _string(_AMOUNT_IN, "a signed decimal amount other than zero", "100.50", "validation"),
    _money_schema("serialization"),
]
#: a decimal in a request (a price, quantity, percent, multiple): bound it with
#: ``Annotated[DecimalIn, Field(gt=0, le=50, max_digits=8, decimal_places=4)]``
DecimalIn = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    _DECIMAL_SER,
    _string(_DECIMAL_IN, "a decimal string; JSON numbers are refused", "0.5", "validation"),
    _decimal_schema("serialization"),
]
#: a money amount in a response: balances, P&L, fees, equity, exposure, limits
MoneyOut = Annotated[
    Decimal, PlainSerializer(money_out, return_type=str, when_used="json"), _money_schema()
]
#: a price, quantity, percent or ratio in a response
DecimalOut = Annotated[Decimal, _DECIMAL_SER, _decimal_schema()]
