"""Market: every symbol's context, live, and the recent signals.

The table starts from ``GET /symbols/contexts`` and follows the market
stream: a ``ContextScoreCalculated`` event replaces its row's score,
pattern, direction, components, candle time and price at once, a
``SignalGenerated`` event its last signal and the signals list. The
signal evaluator's state (armed sides, cooldown) has no event of its own:
it is read again from the API every few seconds. The filters are the
API's (minimum score, pattern, direction, symbol), applied to the rows the
page holds; the columns sort in the browser. A click on a row opens the
symbol's chart.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.client.scanner_panel import scanner_panel
from avd.ui.components import market_text as fmt
from avd.ui.components.market_clock import CLOCK
from avd.ui.layout import DOWN, UP, frame, refusal
from avd.ui.state import shared

#: the engine's patterns and directions (the API's filter values)
PATTERNS = ("breakout", "accumulation", "distribution", "trend", "range", "none")
DIRECTIONS = ("long", "short", "neutral")
ANY = "any"
#: seconds between reads of the signal evaluator's state (no event carries it)
STATE_REFRESH_S = 5.0
#: signals listed
SIGNALS_SHOWN = 50

COLUMNS: list[dict[str, Any]] = [
    {"name": "symbol", "label": "Symbol", "field": "symbol", "sortable": True, "align": "left"},
    {"name": "interval", "label": "Interval", "field": "interval", "align": "left"},
    {"name": "score", "label": "Score", "field": "score", "sortable": True, "align": "left"},
    {"name": "pattern", "label": "Pattern", "field": "pattern", "sortable": True, "align": "left"},
    {"name": "direction", "label": "Direction", "field": "direction", "sortable": True},
    {"name": "regime", "label": "Regime", "field": "regime_text", "sortable": True},
    {"name": "components", "label": "Components", "field": "components_text", "align": "left"},
    {"name": "signal", "label": "Signal state", "field": "signal_text", "align": "left"},
    {"name": "price", "label": "Last price", "field": "price_text", "sortable": True},
    {"name": "candle", "label": "Candle close (UTC)", "field": "candle_text", "sortable": True},
    {"name": "updated", "label": "Updated (local)", "field": "updated_text", "sortable": True},
]

SCORE_CELL = """
<q-td :props="props">
  <div class="flex items-center no-wrap gap-2">
    <q-linear-progress :value="(props.value || 0) / 100" size="10px" rounded style="width: 90px"
      :color="props.row.direction === 'long' ? 'green-7'
              : props.row.direction === 'short' ? 'red-7' : 'grey-6'" />
    <span class="tabular-nums">{{ props.value == null ? '—' : props.value.toFixed(1) }}</span>
  </div>
</q-td>
"""
DIRECTION_CELL = f"""
<q-td :props="props">
  <span class="font-medium"
    :style="{{color: props.value === 'long' ? '{UP}' : props.value === 'short' ? '{DOWN}' : ''}}">
    {{{{ props.value || '—' }}}}</span>
</q-td>
"""
COMPONENTS_CELL = """
<q-td :props="props">
  <div class="flex no-wrap items-end gap-1" :title="props.value">
    <div v-for="(v, k) in props.row.bars" :key="k" class="flex flex-col items-center">
      <div style="width: 9px; height: 22px; background: #e5e7eb; position: relative">
        <div :style="{position: 'absolute', bottom: 0, width: '100%', height: v + '%',
                      background: '#3b82f6'}"></div>
      </div>
      <span style="font-size: 9px">{{ k }}</span>
    </div>
  </div>
</q-td>
"""
SIDE_CELL = f"""
<q-td :props="props">
  <span :style="{{color: props.value === 'BUY' ? '{UP}' : '{DOWN}'}}" class="font-semibold">
    {{{{ props.value }}}}</span>
</q-td>
"""


def context_row(c: dict[str, Any]) -> dict[str, Any]:
    """A table row from a ``/symbols/contexts`` entry (the raw values and their text)."""
    row = {**c, "key": f"{c['symbol']} {c['interval']}"}
    row["components_text"] = fmt.components(c.get("components"))
    row["bars"] = fmt.component_bars(c.get("components"))
    row["signal_text"] = fmt.signal_state(c)
    row["regime_text"] = c.get("regime") or "—"
    row["price_text"] = fmt.price(c.get("last_price"))
    row["candle_text"] = fmt.utc_time(c.get("timestamp"))
    updated = c.get("updated_at")
    row["updated_text"] = (
        time.strftime("%H:%M:%S", time.localtime(updated))
        if isinstance(updated, int | float)
        else "—"
    )
    return row


def signal_row(s: dict[str, Any]) -> dict[str, Any]:
    """A row of the signals list from a signal (REST or stream)."""
    return {
        "key": f"{s['symbol']} {s['interval']} {s['generated_at']} {s['side']}",
        "time": fmt.utc_time(s["generated_at"], date=True),
        "symbol": s["symbol"],
        "side": s["side"],
        "score": f"{float(s['score']):.1f}",
        "pattern": s["pattern"],
        "price": fmt.price(s["price"]),
        "reason": s["reason"],
        "generated_at": s["generated_at"],
    }


class Filters:
    """The API's filters, as the page's controls set them."""

    def __init__(self) -> None:
        self.min_score = 0.0
        self.pattern = ANY
        self.direction = ANY
        self.symbol = ""

    def keep(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` passes (as ``GET /symbols/contexts`` with the same filters would)."""
        score = row.get("score")
        if self.min_score > 0 and (score is None or score < self.min_score):
            return False
        if self.pattern != ANY and row.get("pattern") != self.pattern:
            return False
        if self.direction != ANY and row.get("direction") != self.direction:
            return False
        wanted = self.symbol.strip().upper()
        return not wanted or wanted in row["symbol"]


class MarketTable:
    """The contexts table: every row the page holds, the filtered ones shown."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.rows: dict[str, dict[str, Any]] = {}
        self.table = (
            ui.table(
                rows=[],
                columns=COLUMNS,
                row_key="key",
                pagination={"rowsPerPage": 0, "sortBy": "score", "descending": True},
            )
            .classes("w-full cursor-pointer")
            .mark("market-table")
        )
        self.table.add_slot("body-cell-score", SCORE_CELL)
        self.table.add_slot("body-cell-direction", DIRECTION_CELL)
        self.table.add_slot("body-cell-components", COMPONENTS_CELL)
        self.table.on("rowClick", self._open)
        self.empty = ui.label("No symbol matches the filters.").classes("text-slate-500")
        self.empty.mark("market-empty")

    @staticmethod
    def _open(e: Any) -> None:
        args = e.args if isinstance(e.args, list) else [e.args]
        row = next((a for a in args if isinstance(a, dict) and "symbol" in a), None)
        if row is not None:
            ui.navigate.to(f"/symbol/{row['symbol']}?interval={row.get('interval', '1m')}")

    def load(self, contexts: list[dict[str, Any]]) -> None:
        """Take the API's rows (a newer row the stream already gave is kept)."""
        for c in contexts:
            row = context_row(c)
            held = self.rows.get(row["key"])
            if held is not None and (held.get("timestamp") or 0) > (c.get("timestamp") or 0):
                held["signal_state"] = c.get("signal_state")
                held["last_action"] = c.get("last_action")
                held["last_signal_at"] = c.get("last_signal_at")
                held["signal_text"] = fmt.signal_state(held)
                held["regime"] = c.get("regime")
                held["regime_text"] = c.get("regime") or "—"
                continue
            self.rows[row["key"]] = row
            if isinstance(c.get("updated_at"), int | float) and c.get("timestamp"):
                CLOCK.note(c["updated_at"] * 1000, c["timestamp"])
        self.show()

    def show(self) -> None:
        """Show the rows the filters keep."""
        self.table.rows = [r for r in self.rows.values() if self.filters.keep(r)]
        self.empty.set_visibility(not self.table.rows)

    def on_context(self, e: dict[str, Any]) -> None:
        """A new context from the stream replaces its row's values."""
        key = f"{e['symbol']} {e['interval']}"
        held = self.rows.get(key, {"symbol": e["symbol"], "interval": e["interval"]})
        if (held.get("timestamp") or 0) > e["timestamp"]:
            return
        wall_ms = e.get("kline_event_time") or 0
        CLOCK.note(wall_ms, e["timestamp"])
        c = {
            **held,
            "score": e["score"],
            "direction": e["direction"],
            "pattern": e["pattern"],
            "components": e["components"],
            "timestamp": e["timestamp"],
            "last_price": e["close"],
            "updated_at": time.time(),
        }
        self.rows[key] = context_row(c)
        self.show()

    def on_signal(self, e: dict[str, Any]) -> None:
        """A signal from the stream: its row's last signal."""
        held = self.rows.get(f"{e['symbol']} {e['interval']}")
        if held is None:
            return
        held["last_action"] = e["side"]
        held["last_signal_at"] = e["generated_at"]
        held["signal_text"] = fmt.signal_state(held)
        self.show()


def filter_bar(filters: Filters, changed: Any) -> None:
    """The filters' controls (the API's: min score, pattern, direction, symbol)."""

    def set_min(e: Any) -> None:
        filters.min_score = float(e.value or 0)
        changed()

    def set_pattern(e: Any) -> None:
        filters.pattern = e.value or ANY
        changed()

    def set_direction(e: Any) -> None:
        filters.direction = e.value or ANY
        changed()

    def set_symbol(e: Any) -> None:
        filters.symbol = e.value or ""
        changed()

    with ui.row().classes("w-full items-end gap-6"):
        ui.input("Symbol", placeholder="e.g. BTC", on_change=set_symbol).props(
            "clearable dense"
        ).classes("w-40").mark("symbol-filter")
        with ui.column().classes("gap-0 w-56"):
            minimum = ui.label("Min score: 0")
            ui.slider(min=0, max=100, step=1, value=0, on_change=set_min).props("label").mark(
                "min-score"
            ).on_value_change(lambda e: minimum.set_text(f"Min score: {e.value:.0f}"))
        ui.select([ANY, *PATTERNS], label="Pattern", value=ANY, on_change=set_pattern).classes(
            "w-40"
        ).mark("pattern-filter")
        ui.select(
            [ANY, *DIRECTIONS], label="Direction", value=ANY, on_change=set_direction
        ).classes("w-40").mark("direction-filter")


def signals_table() -> ui.table:
    """The recent signals, newest first."""
    table = (
        ui.table(
            rows=[],
            columns=[
                {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
                {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
                {"name": "side", "label": "Side", "field": "side"},
                {"name": "score", "label": "Score", "field": "score"},
                {"name": "pattern", "label": "Pattern", "field": "pattern"},
                {"name": "price", "label": "Price", "field": "price"},
                {"name": "reason", "label": "Reason", "field": "reason", "align": "left"},
            ],
            row_key="key",
            pagination={"rowsPerPage": 10},
        )
        .classes("w-full cursor-pointer")
        .props("dense wrap-cells")
        .mark("signals-table")
    )
    table.add_slot("body-cell-side", SIDE_CELL)
    table.on("rowClick", MarketTable._open)
    return table


async def market_page() -> None:
    """Every symbol's context, live, and the recent signals."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "Market"):
        filters = Filters()
        ui.label(
            "Every symbol's latest context, as the engine scores each closed candle. "
            "Click a row for its chart."
        ).classes("text-slate-500")
        holder: list[MarketTable] = []
        filter_bar(filters, lambda: holder[0].show() if holder else None)
        table = MarketTable(filters)
        holder.append(table)
        await scanner_panel(s)
        ui.label("Recent signals").classes("text-lg font-semibold mt-4")
        signals = signals_table()
        try:
            table.load((await s.get("market", "/symbols/contexts"))["contexts"])
            recent = (await s.get("market", "/signals", limit=SIGNALS_SHOWN))["signals"]
            signals.rows = [signal_row(x) for x in reversed(recent)]
        except ServiceError as e:
            refusal(e)
            ui.label(e.message).classes("text-red-600").mark("market-error")

        def on_event(e: dict[str, Any]) -> None:
            kind = e.get("type")
            if kind == "ContextScoreCalculated":
                table.on_context(e)
            elif kind == "SignalGenerated":
                table.on_signal(e)
                signals.rows = [signal_row(e), *signals.rows][:SIGNALS_SHOWN]

        shared().market.for_page(on_event)

        async def refresh_state() -> None:
            # on a failure the stream still feeds the table; the next tick tries again
            with contextlib.suppress(ServiceError):
                table.load((await s.get("market", "/symbols/contexts"))["contexts"])

        ui.timer(STATE_REFRESH_S, refresh_state)
