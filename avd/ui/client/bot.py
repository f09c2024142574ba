"""``/bot``: the bot parameters as a form, validated by the Client service.

The page holds no rule of its own: it sends what changed as a JSON merge
patch (``PATCH /client/parameters``) and, when the service refuses it, puts
each of the service's messages under the field it names (a 422's detail is
``"<field path>: <message>; ..."``; a rule over several fields is shown
under the field its sentence names, or above the form).
"""

from __future__ import annotations

import re
from typing import Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.layout import frame, refusal
from avd.ui.session import Session

#: the optional stop rules: field → (label, suffix, hint); empty means off
STOP_FIELDS: dict[str, tuple[str, str, str]] = {
    "trailing_percent": ("Trailing stop", "%", "follows the highest price at this distance"),
    "chandelier_atr_multiple": (
        "Chandelier trail",
        "x ATR",
        "follows the peak minus this many ATR(14)",
    ),
    "break_even_after_r": ("Break-even after", "R", "the stop moves to the entry at this profit"),
}
STOP_KINDS = {"stop_loss_percent": "% of the entry", "stop_loss_atr_multiple": "x ATR(14)"}
#: sentences of whole-set rules that name no field path, and the field they concern
RULE_WORDS = (
    ("stop_loss_percent", "stops.stop_loss"),
    ("stop_loss_atr_multiple", "stops.stop_loss"),
    ("take-profit", "stops.take_profit"),
    ("take_profit", "stops.take_profit"),
    ("symbols", "symbols"),
    ("live mode", "mode"),
    ("api key", "mode"),
)


def problems(detail: str) -> list[tuple[str, str]]:
    """``(field path, message)`` of each problem of a 422's detail (``""``: no path)."""
    out: list[tuple[str, str]] = []
    for part in detail.split("; "):
        path, sep, message = part.partition(": ")
        if sep and re.fullmatch(r"\(body\)|[A-Za-z_][\w.]*", path):
            out.append(("" if path == "(body)" else path, message))
        else:
            out.append(("", part))
    return out


def _bot_symbol(value: Any) -> str:
    """A symbol upper-cased; ``scanner:N`` (the scanner's top N) lower-cased."""
    text = str(value).strip()
    return text.lower() if text.lower().startswith("scanner:") else text.upper()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(element: ui.input) -> str | None:
    """An optional decimal input: its text, or ``None`` (off) when empty."""
    text = (element.value or "").strip()
    return text or None


def _integer(element: ui.number) -> int | float | None:
    """A whole-number input (a fraction is sent as it is, for the service to refuse)."""
    value = element.value
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


class BotForm:
    """The form's elements, keyed by the field paths the service uses in its messages."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.saved: dict[str, Any] = {}
        self.fields: dict[str, Any] = {}
        self.tp_rows: list[tuple[ui.input, ui.input]] = []

    # --- layout ------------------------------------------------------------------------

    def build(self, symbols: list[str], strategies: dict[str, str] | None = None) -> None:
        """Lay the form out (values come with :meth:`show`).

        ``strategies`` maps the names a bot may select to their labels
        (``GET /strategies`` of the Market service); ``""`` is the primary.
        """
        ui.label(
            "How your bot trades the platform's signals. Changes apply to the next signal; "
            "open trades keep their stops."
        ).classes("text-slate-500")
        self.banner = ui.label().classes("text-red-600").mark("bot-error")
        with ui.row().classes("w-full gap-4 items-stretch"):
            with self._group("Bot"):
                self.fields["enabled"] = ui.switch("Trade my signals").mark("enabled")
                self.fields["mode"] = (
                    ui.toggle({"paper": "Paper", "live": "Live"}).props("no-caps").mark("mode")
                )
                self.mode_error = ui.label().classes("text-red-600 text-sm").mark("mode-error")
                ui.label(
                    "Paper trades a simulated account at real prices; live trades your Binance "
                    "account (add an API key on the Keys page first)."
                ).classes("text-sm text-slate-500")
                self.fields["strategy"] = (
                    ui.select(strategies or {"": "The platform's strategy"}, label="Strategy")
                    .classes("w-full")
                    .mark("strategy")
                )
            with self._group("Symbols"):
                self.fields["symbols"] = (
                    ui.select(
                        symbols,
                        label="Symbols",
                        multiple=True,
                        with_input=True,
                        new_value_mode="add-unique",
                    )
                    .props("use-chips")
                    .classes("w-full")
                    .mark("symbols")
                )
                ui.label("The bot trades the signals of these symbols only.").classes(
                    "text-sm text-slate-500"
                )
            with self._group("Risk"):
                self.fields["risk_per_trade_percent"] = self._decimal_input(
                    "Risk per trade", "%", "risk_per_trade_percent"
                )
                ui.label("of the trading account's equity lost if the stop is hit").classes(
                    "text-sm text-slate-500"
                )
                self.fields["max_open_positions"] = (
                    ui.number("Max open positions", step=1).classes("w-full")
                ).mark("max_open_positions")
        with ui.row().classes("w-full gap-4 items-stretch"):
            with self._group("Stops"):
                self.stop_errors = ui.label().classes("text-red-600 text-sm").mark("stops-error")
                self.stop_kind = (
                    ui.toggle(STOP_KINDS, value="stop_loss_percent")
                    .props("no-caps dense")
                    .mark("stop-kind")
                )
                self.fields["stops.stop_loss"] = self._decimal_input(
                    "Initial stop", "", "stop_loss"
                )
                self.stop_kind.on_value_change(self._stop_suffix)
                for name, (label, suffix, hint) in STOP_FIELDS.items():
                    self.fields[f"stops.{name}"] = self._decimal_input(label, suffix, name)
                    self.fields[f"stops.{name}"].props(f"hint='{hint}; empty: off'")
                self.fields["stops.time_stop_minutes"] = (
                    ui.number("Time stop", step=1)
                    .props("suffix=min hint='close after this long; empty: off'")
                    .classes("w-full")
                    .mark("time_stop_minutes")
                )
                ui.label("At the market's levels (when known; else the rules above):").classes(
                    "text-sm text-slate-500"
                )
                self.fields["stops.stop_at_support"] = ui.switch(
                    "Stop under the nearest support"
                ).mark("stop_at_support")
                self.fields["stops.target_at_resistance"] = ui.switch(
                    "All out at the nearest resistance"
                ).mark("target_at_resistance")
                self.fields["stops.level_buffer_percent"] = self._decimal_input(
                    "Under the support by", "%", "level_buffer_percent"
                )
            with self._group("Take-profits"):
                ui.label(
                    "Take a fraction of the position off at a multiple of the initial risk (R)."
                ).classes("text-sm text-slate-500")
                self.tp_error = ui.label().classes("text-red-600 text-sm").mark("take_profit-error")
                self.tp_box = ui.column().classes("w-full gap-1")
                ui.button("Add a level", icon="add", on_click=lambda: self._add_tp({})).props(
                    "flat dense"
                ).mark("tp-add")
        with ui.row().classes("gap-2"):
            ui.button("Save", icon="save", on_click=self.save).mark("bot-save")
            ui.button("Discard changes", on_click=self.load).props("flat").mark("bot-discard")

    @staticmethod
    def _group(title: str) -> ui.card:
        card = ui.card().classes("flex-1 min-w-72 gap-2")
        with card:
            ui.label(title).classes("text-lg font-semibold")
        return card

    @staticmethod
    def _decimal_input(label: str, suffix: str, marker: str) -> ui.input:
        field = ui.input(label).props("inputmode=decimal").classes("w-full").mark(marker)
        if suffix:
            field.props(f"suffix='{suffix}'")
        return field

    def _stop_suffix(self) -> None:
        suffix = "%" if self.stop_kind.value == "stop_loss_percent" else "x ATR"
        self.fields["stops.stop_loss"].props(f"suffix='{suffix}'")

    def _add_tp(self, level: dict[str, Any]) -> None:
        i = len(self.tp_rows)  # its place in the list: the index the service's messages name
        with self.tp_box, ui.row().classes("w-full items-start gap-2 no-wrap") as row:
            r = (
                ui.input("At", value=_text(level.get("r_multiple")))
                .props("suffix=R inputmode=decimal dense")
                .classes("flex-1")
                .mark(f"tp-{i}-r")
            )
            f = (
                ui.input("Take", value=_text(level.get("fraction")))
                .props("inputmode=decimal dense hint='fraction, 0..1'")
                .classes("flex-1")
                .mark(f"tp-{i}-fraction")
            )
            pair = (r, f)
            self.tp_rows.append(pair)

            def remove() -> None:
                self.tp_rows.remove(pair)
                row.delete()

            ui.button(icon="close", on_click=remove).props("flat dense round").mark(
                f"tp-{i}-remove"
            )

    # --- values ------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the parameters and show them."""
        try:
            params = await self.s.get("client", "/client/parameters")
        except ServiceError as e:
            self.banner.text = e.message
            return
        self.show(params)

    def show(self, params: dict[str, Any]) -> None:
        """Fill the form with ``params`` (the service's view) and clear the errors."""
        self.saved = params
        self.clear_errors()
        f = self.fields
        f["enabled"].value = params["enabled"]
        f["mode"].value = params["mode"]
        chosen = params.get("strategy") or ""
        strategy: ui.select = f["strategy"]
        options = dict(strategy.options) if isinstance(strategy.options, dict) else {}
        if chosen not in options:  # a name the market no longer runs: shown as it is
            strategy.set_options({**options, chosen: f"{chosen} (not running)"})
        strategy.value = chosen
        select: ui.select = f["symbols"]
        known = list(select.options) if isinstance(select.options, list) else []
        select.set_options(sorted(set(known) | set(params["symbols"])))
        select.value = list(params["symbols"])
        f["risk_per_trade_percent"].value = _text(params["risk_per_trade_percent"])
        f["max_open_positions"].value = params["max_open_positions"]
        stops = params["stops"]
        kind = "stop_loss_percent" if stops["stop_loss_percent"] is not None else None
        kind = kind or "stop_loss_atr_multiple"
        self.stop_kind.value = kind
        self._stop_suffix()
        f["stops.stop_loss"].value = _text(stops[kind])
        for name in STOP_FIELDS:
            f[f"stops.{name}"].value = _text(stops[name])
        f["stops.time_stop_minutes"].value = stops["time_stop_minutes"]
        f["stops.stop_at_support"].value = bool(stops.get("stop_at_support"))
        f["stops.target_at_resistance"].value = bool(stops.get("target_at_resistance"))
        f["stops.level_buffer_percent"].value = _text(stops.get("level_buffer_percent"))
        self.tp_rows.clear()
        self.tp_box.clear()
        for level in stops["take_profit"]:
            self._add_tp(level)

    def values(self) -> dict[str, Any]:
        """The parameters as the form holds them (the service's JSON shape)."""
        f = self.fields
        stops: dict[str, Any] = {k: None for k in STOP_KINDS}
        stops[str(self.stop_kind.value)] = _decimal(f["stops.stop_loss"])
        for name in STOP_FIELDS:
            stops[name] = _decimal(f[f"stops.{name}"])
        stops["time_stop_minutes"] = _integer(f["stops.time_stop_minutes"])
        stops["stop_at_support"] = bool(f["stops.stop_at_support"].value)
        stops["target_at_resistance"] = bool(f["stops.target_at_resistance"].value)
        stops["level_buffer_percent"] = _decimal(f["stops.level_buffer_percent"])
        stops["take_profit"] = [
            {"r_multiple": _decimal(r), "fraction": _decimal(fr)} for r, fr in self.tp_rows
        ]
        return {
            "enabled": bool(f["enabled"].value),
            "mode": f["mode"].value,
            "symbols": [_bot_symbol(x) for x in f["symbols"].value or []],
            "risk_per_trade_percent": _decimal(f["risk_per_trade_percent"]),
            "max_open_positions": _integer(f["max_open_positions"]),
            "stops": stops,
            "strategy": f["strategy"].value or None,
        }

    def patch(self) -> dict[str, Any]:
        """What changed since the parameters were read, as a JSON merge patch."""
        now = self.values()
        out: dict[str, Any] = {
            k: v for k, v in now.items() if k != "stops" and v != self.saved.get(k)
        }
        old_stops = self.saved["stops"]
        stops = {k: v for k, v in now["stops"].items() if v != old_stops.get(k)}
        if stops:
            out["stops"] = stops
        return out

    # --- saving and the service's answers ----------------------------------------------

    async def save(self) -> None:
        """Send what changed; show the service's refusal next to the fields it names."""
        change = self.patch()
        self.clear_errors()
        if not change:
            ui.notify("Nothing to save: the form is as saved.")
            return
        try:
            params = await self.s.patch("client", "/client/parameters", change)
        except ServiceError as e:
            self.show_refusal(e)
            return
        self.show(params)
        ui.notify("Bot parameters saved.", type="positive")

    def clear_errors(self) -> None:
        """Remove every message of the last refusal."""
        self.banner.text = self.stop_errors.text = self.tp_error.text = self.mode_error.text = ""
        for element in self._inputs():
            element.error = None

    def _inputs(self) -> list[Any]:
        inputs = [v for k, v in self.fields.items() if k not in {"enabled", "mode"}]
        return inputs + [e for pair in self.tp_rows for e in pair]

    def show_refusal(self, e: ServiceError) -> None:
        """Each of the service's messages under its field (the rest above the form)."""
        if e.status != 422:
            found = self._field_of("", e.detail)
            if found == "mode":
                self.mode_error.text = e.detail
            else:
                self.banner.text = e.message
            refusal(e)
            return
        for path, message in problems(e.detail):
            self._place(self._field_of(path, message), message)
        ui.notify("Not saved: see the fields marked in red.", type="negative")

    def _field_of(self, path: str, message: str) -> str:
        """The form's key for a problem: its path or the nearest enclosing one."""
        parts = path.split(".") if path else []
        if parts[:2] in (["stops", "stop_loss_percent"], ["stops", "stop_loss_atr_multiple"]):
            return "stops.stop_loss"
        if parts[:2] == ["stops", "take_profit"] and len(parts) >= 4 and parts[2].isdigit():
            return f"tp.{parts[2]}.{parts[3]}"
        while parts:
            key = ".".join(parts)
            if key in self.fields or key in {"stops.take_profit", "mode", "stops"}:
                if key != "stops":
                    return key
                break
            parts.pop()
        lowered = message.lower()
        for word, key in RULE_WORDS:
            if word in lowered:
                return key
        return "stops" if path.startswith("stops") else ""

    def _place(self, key: str, message: str) -> None:
        def add(label: ui.label) -> None:
            label.text = f"{label.text}; {message}" if label.text else message

        if key.startswith("tp."):
            _, index, name = key.split(".")
            i = int(index)
            if i < len(self.tp_rows) and name in {"r_multiple", "fraction"}:
                self.tp_rows[i][0 if name == "r_multiple" else 1].error = message
            else:
                add(self.tp_error)
        elif key == "stops.take_profit":
            add(self.tp_error)
        elif key == "stops":
            add(self.stop_errors)
        elif key == "mode":
            add(self.mode_error)
        elif key in self.fields and key != "enabled":
            field = self.fields[key]
            field.error = f"{field.error}; {message}" if field.error else message
        else:
            add(self.banner)


async def _known_symbols(s: Session) -> list[str]:
    """The symbols the Market service follows (for the picker; any other can be typed)."""
    try:
        got = await s.get("market", "/symbols/contexts")
    except ServiceError:
        return []
    return sorted({str(c["symbol"]) for c in got.get("contexts", [])})


async def _strategies(s: Session) -> dict[str, str]:
    """What the bot may select: ``""`` (the primary strategy) and the named ones."""
    try:
        got = await s.get("market", "/strategies")
    except ServiceError:
        return {"": "The platform's strategy"}
    out = {"": f"The platform's strategy ({got['primary']})"}
    out.update({name: name for name in got["names"][1:]})
    return out


async def bot_page() -> None:
    """The bot parameters: load, edit, save with the service's verdict by each field."""
    s = sessions.require()
    if s is None:
        return
    symbols = await _known_symbols(s)
    strategies = await _strategies(s)
    with frame(s, "Bot"):
        form = BotForm(s)
        form.build(symbols, strategies)
    await form.load()
