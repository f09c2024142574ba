"""Stops and targets at the market's levels (``stop_at_support``, ``target_at_resistance``).

With ``stop_at_support`` a BUY without an explicit stop puts its initial stop
``level_buffer_percent`` under the low of the nearest support zone below
the entry's reference price (the market service's ``/symbols/{s}/levels``,
of the order's interval: a signal's). With ``target_at_resistance`` and no
explicit take-profits, the whole position is taken off at the nearest
resistance zone's centre above the price: one take-profit level at
``R = (resistance - price) / (price - stop)``. When the levels are unknown
(too few candles, the market service down, no zone on that side) the
bot's other rules apply, as without the options.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from avd.domain.parameters import StopRules

log = logging.getLogger(__name__)

#: the market's levels of (symbol, interval): ``GET /symbols/{s}/levels``'s body, or None
LevelsSource = Callable[[str, str], Awaitable[dict[str, Any] | None]]
HUNDRED = Decimal(100)
#: a take-profit level's R is kept to 3 decimals (the stop tracker's resolution), at most 50
R_Q = Decimal("0.001")
MAX_R = Decimal(50)


@dataclass(frozen=True)
class LevelPlan:
    """What the levels say for one entry (None where they say nothing)."""

    stop: Decimal | None = None
    target_r: Decimal | None = None


async def level_plan(
    source: LevelsSource | None,
    rules: StopRules,
    symbol: str,
    interval: str,
    ref: Decimal,
    stop: Decimal | None,
    round_down: Callable[[Decimal], Decimal],
) -> LevelPlan:
    """The level stop (when ``stop`` is None) and the level target, for a BUY at ``ref``."""
    if not (rules.stop_at_support or rules.target_at_resistance) or source is None:
        return LevelPlan()
    try:
        view = await source(symbol, interval)
    except Exception as exc:  # the market service cannot say: the other rules apply
        log.warning(
            "levels of %s %s unavailable (%s): the bot's other rules apply", symbol, interval, exc
        )
        return LevelPlan()
    if not view:
        return LevelPlan()
    new_stop: Decimal | None = None
    if rules.stop_at_support and stop is None:
        below = [z for z in view.get("supports", []) if Decimal(str(z["low"])) < ref]
        if below:
            low = Decimal(str(below[0]["low"]))
            candidate = round_down(low * (1 - rules.level_buffer_percent / HUNDRED))
            if Decimal(0) < candidate < ref:
                new_stop = candidate
    target_r: Decimal | None = None
    final_stop = new_stop if new_stop is not None else stop
    if rules.target_at_resistance and final_stop is not None and final_stop < ref:
        above = [z for z in view.get("resistances", []) if Decimal(str(z["center"])) > ref]
        if above:
            r = (Decimal(str(above[0]["center"])) - ref) / (ref - final_stop)
            r = r.quantize(R_Q, ROUND_DOWN)
            if Decimal(0) < r <= MAX_R:
                target_r = r
    return LevelPlan(new_stop, target_r)
