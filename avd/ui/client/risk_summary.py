"""The risk manager's view of the client (``GET /risk/status``), as a row of tiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

from avd.ui.api import ServiceError
from avd.ui.layout import money, pnl_class

if TYPE_CHECKING:
    from avd.ui.session import Session


def _state(status: dict[str, Any]) -> tuple[str, str]:
    """What the client may do now, and its colour."""
    if status.get("kill_switch"):
        return "Kill switch on: no new entries", "text-red-600"
    if status.get("blocked"):
        reason = status.get("blocked_reason") or "drawdown limit"
        return f"Blocked: {reason}", "text-red-600"
    if status.get("entries_paused_until"):
        return f"Entries paused until {status['entries_paused_until']}", "text-amber-600"
    return "Trading", "text-green-600"


class RiskSummary:
    """Open positions, exposure, daily P&L, drawdown and whether trading is allowed."""

    TILES = (
        ("risk-mode", "Account"),
        ("risk-equity", "Equity"),
        ("risk-open", "Open positions"),
        ("risk-exposure", "Exposure"),
        ("risk-daily", "Daily P&L"),
        ("risk-drawdown", "Drawdown"),
        ("risk-state", "Status"),
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        self.values: dict[str, ui.label] = {}
        self.notes: dict[str, ui.label] = {}
        with ui.row().classes("w-full gap-3").mark("risk-summary"):
            for mark, title in self.TILES:
                with ui.card().classes("min-w-36 gap-0 px-4 py-2"):
                    ui.label(title).classes("text-xs uppercase text-slate-500")
                    self.values[mark] = ui.label("…").classes("text-lg font-semibold").mark(mark)
                    self.notes[mark] = ui.label("").classes("text-xs text-slate-500")
        self.error = ui.label("").classes("text-red-600").mark("risk-error")
        self.error.set_visibility(False)

    async def load(self) -> None:
        """Read the risk status again."""
        try:
            status = await self.session.get("trade", "/risk/status")
        except ServiceError as e:
            self.error.text = e.message
            self.error.set_visibility(True)
            return
        self.error.set_visibility(False)
        self.show(status)

    def show(self, status: dict[str, Any]) -> None:
        """Fill the tiles from a ``/risk/status`` answer."""
        limits: dict[str, Any] = status.get("limits") or {}
        self._set("risk-mode", str(status.get("mode", "")).capitalize())
        self._set("risk-equity", money(status.get("equity")), "USDT")
        self._set(
            "risk-open",
            str(status.get("open_positions", "")),
            f"of {limits['max_open_positions']} at most" if "max_open_positions" in limits else "",
        )
        self._set(
            "risk-exposure",
            money(status.get("exposure")),
            f"cap {limits['max_total_exposure_percent']}% of equity"
            if "max_total_exposure_percent" in limits
            else "",
        )
        daily = status.get("daily_pnl")
        self._set(
            "risk-daily",
            money(daily),
            f"loss limit {money(status.get('daily_loss_limit'))}",
            pnl_class(daily),
        )
        self._set(
            "risk-drawdown",
            f"{status.get('drawdown_percent', '0')}%",
            f"limit {limits['max_drawdown_percent']}%" if "max_drawdown_percent" in limits else "",
        )
        text, colour = _state(status)
        self._set("risk-state", text, "", colour)

    def _set(self, mark: str, value: str, note: str = "", colour: str = "") -> None:
        label = self.values[mark]
        label.text = value
        label.classes(
            replace=f"text-lg font-semibold {colour}".strip(),
        )
        self.notes[mark].text = note
