"""The trade engine's events (defined with the others in :mod:`avd.orchestrator.events`)."""

from __future__ import annotations

from avd.orchestrator.events import (
    DrawdownLimitReached,
    OrderRejected,
    PartialExitTaken,
    SLAdjusted,
    TradeClosed,
    TradePlaced,
)

__all__ = [
    "DrawdownLimitReached",
    "OrderRejected",
    "PartialExitTaken",
    "SLAdjusted",
    "TradeClosed",
    "TradePlaced",
]
