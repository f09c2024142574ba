"""Fault injection: the live fault settings, used up as they fire.

Set from the config's ``faults`` section at start and replaced (or merged)
by ``POST /sim/admin/faults``; ``POST /sim/admin/drop`` cuts every stream.
"""

from __future__ import annotations

from typing import Any

from .config import FaultConfig


class Faults:
    """The faults in force; counters count down as faults fire."""

    def __init__(self, config: FaultConfig) -> None:
        self.state = config.model_copy()

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        """Merge ``changes`` (validated as :class:`FaultConfig` fields)."""
        merged = {**self.state.model_dump(), **changes}
        self.state = FaultConfig.model_validate(merged)
        return self.state

    def take(self, counter: str) -> bool:
        """True (and one less to go) when the ``counter`` fault should fire now."""
        left = int(getattr(self.state, counter))
        if left <= 0:
            return False
        setattr(self.state, counter, left - 1)
        return True

    def http(self, path: str) -> tuple[int, int] | None:
        """``(status, retry_after)`` when this REST request should fail."""
        s = self.state
        if s.http_count <= 0 or not s.http_status or not path.startswith(s.http_path):
            return None
        s.http_count -= 1
        return s.http_status, s.retry_after

    @property
    def delay_s(self) -> float:
        """Delay added before each stream message, in seconds."""
        return self.state.delay_ms / 1000.0
