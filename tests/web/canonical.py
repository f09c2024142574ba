"""Test helpers: the canonical decimal strings, and a walk over a JSON response.

Written independently of :mod:`avd.domain.money`: the field kinds and the
patterns below are the documented rule (README, API section), not imports.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

#: the one 422 message for a decimal sent as a JSON number
NUMBER = 'decimals are JSON strings like "100.50", not JSON numbers'

#: money: two to eight decimals, no trailing zero past the second
MONEY = re.compile(r"^-?(0|[1-9][0-9]*)\.[0-9]{2}([0-9]{0,5}[1-9])?$")
#: prices, quantities, percents, ratios: no exponent, no trailing zeros, "0" for zero
PLAIN = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")

MONEY_FIELDS = {
    "amount",
    "balance",
    "charged",
    "daily_loss_limit",
    "daily_pnl",
    "equity",
    "exposure",
    "fee",
    "min_balance_to_trade",
    "notional",
    "peak_equity",
    "profit",
    "realized_pnl",
    "shortfall",
}
PLAIN_FIELDS = {
    "break_even_after_r",
    "chandelier_atr_multiple",
    "drawdown_percent",
    "entry_price",
    "exit_price",
    "fee_percent",
    "fraction",
    "initial_stop",
    "level_buffer_percent",
    "open_quantity",
    "quantity",
    "r_multiple",
    "risk_per_trade_percent",
    "stop_loss",
    "stop_loss_atr_multiple",
    "stop_loss_percent",
    "tracked_stop",
    "trailing_percent",
}
#: fields whose values are plain decimals, keyed by name
PLAIN_MAPS = {"limits"}
INTEGER_FIELDS = {
    "actor_id",
    "client_id",
    "expires_in",
    "id",
    "limit",
    "max_open_positions",
    "offset",
    "open_positions",
    "subject_id",
    "time_stop_minutes",
}
_DECIMAL_LOOKING = re.compile(r"^-?[0-9]*\.[0-9]+$|^-?[0-9.]+[eE][-+]?[0-9]+$")


def _check(where: str, value: Any, pattern: re.Pattern[str]) -> None:
    assert isinstance(value, str), f"{where}: {value!r} is not a string"
    assert pattern.fullmatch(value), f"{where}: {value!r} is not canonical"
    assert not (value.startswith("-") and Decimal(value) == 0), f"{where}: negative zero"


def check_decimals(doc: Any, where: str = "") -> int:
    """Assert every decimal of ``doc`` is canonical for its kind; how many were checked."""
    seen = 0
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            seen += check_decimals(item, f"{where}[{i}]")
        return seen
    if not isinstance(doc, dict):
        return 0
    for key, value in doc.items():
        at = f"{where}.{key}" if where else key
        if key in PLAIN_MAPS and isinstance(value, dict):
            for name, v in value.items():
                _check(f"{at}.{name}", v, PLAIN)
                seen += 1
        elif key in MONEY_FIELDS or key in PLAIN_FIELDS:
            if value is not None:
                _check(at, value, MONEY if key in MONEY_FIELDS else PLAIN)
                seen += 1
        elif isinstance(value, dict | list):
            seen += check_decimals(value, at)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            assert key in INTEGER_FIELDS and isinstance(value, int), f"{at}: a JSON number"
        elif isinstance(value, str):
            assert not _DECIMAL_LOOKING.fullmatch(value), f"{at}: {value!r}, unclassified"
    return seen


def number_types(schema: Any, where: str = "") -> list[str]:
    """Where a JSON schema allows a JSON number (``"type": "number"``): decimals never do."""
    found: list[str] = []
    if isinstance(schema, dict):
        kinds = schema.get("type")
        if kinds == "number" or (isinstance(kinds, list) and "number" in kinds):
            found.append(where)
        for key, value in schema.items():
            found += number_types(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            found += number_types(item, f"{where}/{i}")
    return found
