"""A symbol's page: its context, and a live candlestick chart with the client's trades.

The candles come from ``GET /symbols/{symbol}/candles`` (the last
:data:`KEEP`), the signal markers from ``GET /signals``, the entries and
exits from the client's own ``/trades/active`` and ``/trades/history``.
The market stream then appends each closed candle (or replaces the last,
same open time) and moves the context and the last price; the trade
stream redraws the client's markers and levels when a trade changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from nicegui import ui

from avd import _core
from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.components import candles as cc
from avd.ui.components import levels as lv
from avd.ui.components import market_text as fmt
from avd.ui.components.market_clock import CLOCK
from avd.ui.layout import DOWN, UP, frame, refusal
from avd.ui.live import follow_trades
from avd.ui.session import Session
from avd.ui.state import shared

#: candles loaded and kept on the chart (the engine's buffer holds 500)
KEEP = 500
#: the score bar's colour (Quasar's palette) by direction
BAR_COLOURS = {"long": "green-7", "short": "red-7"}
#: trades of the history read for the markers (newest first)
HISTORY_READ = 500


def _wall_ms(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def trade_markers(trades: list[dict[str, Any]]) -> list[cc.Marker]:
    """Each trade's entry and (once closed) exit, at the market time of their wall times."""
    out = []
    for t in trades:
        side = t["side"]
        entered = _wall_ms(t.get("created_at"))
        if t.get("entry_price") is not None and entered is not None:
            out.append(
                cc.Marker(
                    int(CLOCK.market_time(entered)),
                    float(Decimal(t["entry_price"])),
                    f"#{t['id']} entry {side} {t['quantity']} @ {t['entry_price']}",
                    cc.ENTRY_COLOUR,
                    up=side == "BUY",
                )
            )
        closed = _wall_ms(t.get("closed_at"))
        if t.get("exit_price") is not None and closed is not None:
            out.append(
                cc.Marker(
                    int(CLOCK.market_time(closed)),
                    float(Decimal(t["exit_price"])),
                    f"#{t['id']} exit @ {t['exit_price']} ({t.get('close_reason') or 'closed'}),"
                    f" P&L {t['realized_pnl']}",
                    cc.EXIT_COLOUR,
                    up=side != "BUY",
                )
            )
    return out


def trade_levels(trades: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
    """The open trades' entry and stop prices, as horizontal lines."""
    levels = []
    for t in trades:
        if t.get("status") != "open" or t.get("entry_price") is None:
            continue
        stop = t.get("tracked_stop") or t["stop_loss"]
        levels.append(
            (
                f"#{t['id']} entry {t['entry_price']}",
                float(Decimal(t["entry_price"])),
                cc.ENTRY_COLOUR,
            )
        )
        levels.append((f"#{t['id']} stop {stop}", float(Decimal(stop)), DOWN))
    return levels


def signal_marker(s: dict[str, Any]) -> cc.Marker:
    """A signal's marker, at its candle and price."""
    buy = s["side"] == "BUY"
    return cc.Marker(
        int(s["generated_at"]),
        float(s["price"]),
        f"{s['side']} signal, score {float(s['score']):.1f}: {s['reason']}",
        UP if buy else DOWN,
        up=buy,
    )


class ContextView:
    """The symbol's context above the chart: score bar, pattern, direction, components, price."""

    def __init__(self) -> None:
        #: close time of the candle of the context shown (ms)
        self.timestamp = 0
        with ui.card().classes("w-full").mark("symbol-context"):
            with ui.row().classes("w-full items-center gap-8"):
                with ui.column().classes("gap-1"):
                    self.score = ui.label("Score —").classes("text-lg font-semibold")
                    self.score.mark("context-score")
                    self.bar = ui.linear_progress(value=0, show_value=False, size="10px")
                    self.bar.classes("w-48")
                self.pattern = ui.label("—").mark("context-pattern")
                self.direction = ui.label("—").mark("context-direction")
                self.price = ui.label("—").classes("text-lg tabular-nums").mark("last-price")
                self.candle = ui.label("").classes("text-slate-500").mark("context-candle")
            self.components = ui.label("").classes("text-slate-600").mark("context-components")
            self.signal = ui.label("").classes("text-slate-600").mark("context-signal")

    def show(self, c: dict[str, Any]) -> None:
        """Show a context (a ``/symbols/contexts`` row or a context event), unless older."""
        if (c.get("timestamp") or 0) < self.timestamp:
            return
        self.timestamp = c.get("timestamp") or 0
        score = c.get("score")
        self.score.set_text("Score —" if score is None else f"Score {score:.1f}")
        self.bar.set_value((score or 0) / 100)
        direction = c.get("direction") or ""
        colour = {"long": UP, "short": DOWN}.get(direction, "#6b7280")
        self.bar.props(f"color={BAR_COLOURS.get(direction, 'grey-6')}")
        self.pattern.set_text(f"Pattern: {c.get('pattern') or '—'}")
        self.direction.set_text(f"Direction: {c.get('direction') or '—'}")
        self.direction.style(f"color: {colour}")
        self.components.set_text(f"Components: {fmt.components(c.get('components'))}")
        if "signal_state" in c:
            self.signal.set_text(f"Signal: {fmt.signal_state(c)}")
        self.candle.set_text(f"candle closed {fmt.utc_time(c.get('timestamp'), date=True)} UTC")
        price = c.get("last_price", c.get("close"))
        self.price.set_text(f"Last {fmt.price(price)}")


def unknown_symbol(symbol: str, detail: str) -> None:
    """What an unknown (or untracked) symbol shows instead of a chart."""
    with ui.card().classes("w-full").mark("unknown-symbol"):
        ui.label(f"Unknown symbol: {symbol}").classes("text-xl font-semibold")
        ui.label(detail).classes("text-slate-600")
        ui.link("Back to the market", "/")


async def _trades(s: Session, symbol: str) -> list[dict[str, Any]]:
    active = (await s.get("trade", "/trades/active"))["trades"]
    history = (await s.get("trade", "/trades/history", limit=HISTORY_READ))["trades"]
    seen: set[int] = set()
    mine = []
    for t in [*active, *history]:
        if t["symbol"] == symbol and t["id"] not in seen:
            seen.add(t["id"])
            mine.append(t)
    return mine


async def symbol_page(symbol: str, interval: str = "1m") -> None:
    """A symbol's context and its live candlestick chart."""
    s = sessions.require()
    if s is None:
        return
    symbol = symbol.upper()
    with frame(s, "Market"):
        with ui.row().classes("items-baseline gap-4"):
            ui.link("← All symbols", "/")
            ui.label(f"{symbol} · {interval}").classes("text-xl font-semibold").mark("symbol-title")
        # listen before reading: what the stream says while the page loads is applied after
        early: list[dict[str, Any]] = []
        live: list[Callable[[dict[str, Any]], None]] = [early.append]

        def on_market(e: dict[str, Any]) -> None:
            if e.get("symbol") == symbol and e.get("interval") == interval:
                live[0](e)

        shared().market.for_page(on_market)
        try:
            got = await s.get("market", f"/symbols/{symbol}/candles", interval=interval, limit=KEEP)
        except ServiceError as e:
            if e.status in (400, 404):
                unknown_symbol(symbol, e.message)
            else:
                refusal(e)
                ui.label(e.message).classes("text-red-600").mark("market-error")
            return
        candles: list[cc.Candle] = got["candles"]
        view = ContextView()
        try:
            rows = await s.get("market", "/symbols/contexts", symbol=symbol, interval=interval)
            for row in rows["contexts"]:
                view.show(row)
                if isinstance(row.get("updated_at"), int | float) and row.get("timestamp"):
                    CLOCK.note(row["updated_at"] * 1000, row["timestamp"])
            found = await s.get("market", "/signals", symbol=symbol)
            signals = [signal_marker(x) for x in found["signals"] if x["interval"] == interval]
        except ServiceError as e:
            refusal(e)
            signals = []
        trades: list[dict[str, Any]] = []
        try:
            trades = await _trades(s, symbol)
        except ServiceError as e:
            refusal(e)

        periods = cc.engine_periods()
        interval_ms = _core.interval_ms(interval)

        market_levels: list[tuple[str, float, str]] = []

        def draw(**extra: Any) -> dict[str, Any]:
            shown = market_levels if show_market_levels.value else []
            return {
                "up": UP,
                "down": DOWN,
                "interval_ms": interval_ms,
                "signals": signals,
                "trades": trade_markers(trades),
                "levels": trade_levels(trades) + shown,
                **extra,
            }

        with ui.row().classes("items-center gap-4 w-full"):
            show_market_levels = ui.switch("Levels", value=True).mark("levels-switch")
            level_text = ui.label("").classes("text-sm text-slate-600").mark("market-levels")

        levels = ui.label().classes("font-medium").mark("open-levels")
        chart = ui.echart(cc.chart_options(candles, periods, **draw()))
        chart.classes("w-full").style("height: 620px").mark("candles-chart")
        options = chart.options  # the element's own copy: the one pushed to the browser
        # the user's zoom, kept here (a change of the options would send the whole chart)
        zoom: list[tuple[float, float] | None] = [None]

        def zoomed(e: Any) -> None:
            zoom[0] = cc.zoom_window(_first(e.args)) or zoom[0]

        chart.on("chart:datazoom", zoomed, ["start", "end", "batch"])
        ui.label(
            f"Overlays: EMA {periods.ema_fast} and {periods.ema_slow}, Bollinger bands "
            f"({periods.bb_period}, {periods.bb_nbdev:g}) — the engine's periods. Triangles: "
            "signals (green buy, red sell), your entries (blue) and exits (orange); dashed "
            "lines: your open trades' entry and stop, the nearest support (green) and "
            "resistance (red) zones and the previous day's pivots (grey). Scroll or drag the "
            "slider to zoom and pan."
        ).classes("text-slate-500 text-sm")

        def show_levels() -> None:
            open_here = [name for name, _, _ in trade_levels(trades)]
            levels.set_text("Your open trades here: " + " · ".join(open_here) if open_here else "")
            levels.set_visibility(bool(open_here))

        def redraw() -> None:
            cc.keep_zoom(options, zoom[0])
            cc.refresh(options, candles, periods, **draw())
            chart.update()
            show_levels()

        show_levels()

        async def load_levels() -> None:
            """The market's entry levels (support, resistance, pivots), again every 30 s."""
            nonlocal market_levels
            try:
                view_ = await s.get(
                    "market", f"/symbols/{symbol}/levels", interval=interval, limit=1000
                )
            except ServiceError as e:
                level_text.set_text(f"Levels: {e.message}")
                return
            market_levels = lv.level_lines(view_)
            level_text.set_text(lv.summary(view_))
            redraw()

        show_market_levels.on_value_change(lambda _: redraw())
        await load_levels()
        ui.timer(30, load_levels, immediate=False)

        def apply(e: dict[str, Any]) -> None:
            kind = e.get("type")
            if kind == "KlineReceived" and e.get("closed"):
                candle = {k: e[k] for k in ("open_time", "open", "high", "low", "close", "volume")}
                if cc.add_candle(candles, candle, KEEP):
                    redraw()
            elif kind == "ContextScoreCalculated":
                CLOCK.note(e.get("kline_event_time") or 0, e["timestamp"])
                view.show(e)
            elif kind == "SignalGenerated":
                marker = signal_marker(e)
                if marker not in signals:  # the API may have listed it already
                    signals.append(marker)
                    redraw()

        live[0] = apply
        for event in early:
            apply(event)

        async def on_trade(_: dict[str, Any]) -> None:
            nonlocal trades
            try:
                trades = await _trades(s, symbol)
            except ServiceError:
                return
            redraw()

        follow_trades(s, on_trade)


def _first(args: Any) -> dict[str, Any]:
    if isinstance(args, list):
        return args[0] if args and isinstance(args[0], dict) else {}
    return args if isinstance(args, dict) else {}
