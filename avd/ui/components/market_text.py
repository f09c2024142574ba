"""How market values read on the pages: prices, times, components, signal state."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

#: the components of a context score, in the engine's order, with a short name for tight cells
COMPONENTS = (
    ("trend", "Tr"),
    ("momentum", "Mo"),
    ("volatility", "Vt"),
    ("volume", "Vo"),
    ("breakout", "Br"),
    ("flow", "Fl"),
)


def price(value: object) -> str:
    """A market price (a float on the market API) with its own decimals, thousands separated."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    text = f"{value:,.8f}".rstrip("0").rstrip(".")
    return text or "0"


def utc_time(ms: object, *, date: bool = False) -> str:
    """A time in milliseconds since the epoch, as UTC ``HH:MM:SS`` (with the date if asked)."""
    if not isinstance(ms, int | float) or not math.isfinite(ms):
        return "—"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def components(values: dict[str, Any] | None) -> str:
    """The six components in one line, e.g. ``Tr 74 · Mo 95 · ...``."""
    if not values:
        return "—"
    parts = []
    for name, short in COMPONENTS:
        v = values.get(name)
        if isinstance(v, int | float) and math.isfinite(v):
            parts.append(f"{short} {v:.0f}")
    return " · ".join(parts) or "—"


def component_bars(values: dict[str, Any] | None) -> dict[str, float]:
    """The components by short name, in the engine's order (for the table's small bars)."""
    values = values or {}
    return {
        short: float(values[name])
        for name, short in COMPONENTS
        if isinstance(values.get(name), int | float) and math.isfinite(values[name])
    }


def signal_state(row: dict[str, Any]) -> str:
    """The signal evaluator's state of a context row: last signal, armed sides, cooldown."""
    parts = []
    if row.get("last_action"):
        parts.append(f"last {row['last_action']} {utc_time(row.get('last_signal_at'))}")
    state = row.get("signal_state") or {}
    armed = [side for side in ("long", "short") if state.get(f"{side}_armed")]
    parts.append("armed " + "+".join(armed) if armed else "not armed")
    cooldown = state.get("cooldown_left") or 0
    if cooldown:
        parts.append(f"cooldown {cooldown} bars")
    return " · ".join(parts)
