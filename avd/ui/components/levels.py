"""The market's entry levels on a chart: ``GET /symbols/{symbol}/levels`` as lines and a summary."""

from __future__ import annotations

from typing import Any

SUPPORT = "#059669"  # emerald-600
RESISTANCE = "#b91c1c"  # red-700
PIVOT = "#6b7280"  # gray-500
#: the pivot levels drawn (the others are listed in the summary)
DRAWN_PIVOTS = ("P", "R1", "S1")


def level_lines(view: dict[str, Any]) -> list[tuple[str, float, str]]:
    """The nearest support and resistance zones and the main pivots, as (name, price, colour)."""
    lines: list[tuple[str, float, str]] = []
    for side, colour in (("supports", SUPPORT), ("resistances", RESISTANCE)):
        for z in view.get(side, [])[:1]:
            word = side[:-1]
            lines.append((f"{word} {z['center']:g} ({z['touches']} touches)", z["center"], colour))
    pivots = view.get("pivots")
    if pivots:
        for name in DRAWN_PIVOTS:
            price = pivots["levels"].get(name)
            if price is not None:
                lines.append((f"pivot {name} {price:g}", price, PIVOT))
    return lines


def summary(view: dict[str, Any]) -> str:
    """One line for the page: nearest levels, the pivot day, the best confluence."""
    parts = []
    if view.get("supports"):
        parts.append("support " + ", ".join(f"{z['center']:g}" for z in view["supports"]))
    if view.get("resistances"):
        parts.append("resistance " + ", ".join(f"{z['center']:g}" for z in view["resistances"]))
    pivots = view.get("pivots")
    if pivots:
        shown = " ".join(f"{k} {v:g}" for k, v in pivots["levels"].items())
        partial = "" if pivots["complete"] else " (partial day)"
        parts.append(f"{pivots['method']} pivots{partial}: {shown}")
    best = (view.get("confluence") or [None])[0]
    if best:
        kinds = "+".join(best["kinds"]) if isinstance(best["kinds"], list) else best["kinds"]
        parts.append(f"confluence {best['price']:g} ({kinds}, score {best['score']:g})")
    return " · ".join(parts) if parts else "No level yet (too few candles)."
