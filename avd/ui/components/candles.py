"""The candlestick chart's ECharts options: candles, volume, overlays, markers, zoom.

The page keeps the candles (as ``GET /symbols/{symbol}/candles`` returns
them, oldest first) and calls :func:`chart_options` once, then
:func:`refresh` whenever a candle, a signal or a trade changes: the series
keep their number and order, so ECharts merges the new data into the chart
the user is looking at (zoom and legend choices stay).

The overlays are the engine's: its EMAs and Bollinger bands with the
periods of its configuration (:func:`engine_periods`), computed with
:mod:`avd.indicators`, which gives TA-Lib's values.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from avd import indicators as ta

Candle = dict[str, Any]
Options = dict[str, Any]

#: series names, in the order of ``options["series"]`` (the tests find them by name)
CANDLES = "Candles"
VOLUME = "Volume"
SIGNALS = "Signals"
TRADES = "My trades"
#: candles shown when the chart opens (the slider pans over the rest)
FIRST_VIEW = 120
#: colours of the overlays and markers (candles use the layout's UP and DOWN)
EMA_COLOURS = ("#f59e0b", "#8b5cf6")
BAND_COLOUR = "#0ea5e9"
ENTRY_COLOUR = "#2563eb"
#: line types of the overlays: EMAs solid, the bands dashed, their middle dotted
LINE_TYPES = ("solid", "solid", "dashed", "dotted", "dashed")
SIGNAL_COLOUR = "#6b7280"
TOOLTIP_NUMBER = (
    "(v) => typeof v === 'number' ? v.toLocaleString('en-US', {maximumFractionDigits: 6}) : v"
)
EXIT_COLOUR = "#ea580c"


@dataclass(frozen=True)
class Periods:
    """The overlays' parameters: two EMA periods and the Bollinger period and width."""

    ema_fast: int = 20
    ema_slow: int = 50
    bb_period: int = 20
    bb_nbdev: float = 2.0


def engine_periods() -> Periods:
    """The periods of the engine's configuration (its defaults: the API does not publish it)."""
    import json

    from avd._core import EngineConfig

    ind = json.loads(EngineConfig().to_json())["indicators"]
    return Periods(ind["ema_fast"], ind["ema_slow"], ind["bb_period"], float(ind["bb_nbdev"]))


def label(open_time_ms: int) -> str:
    """A candle's place on the x axis: its open time, UTC, ``MM-DD HH:MM``."""
    return datetime.fromtimestamp(open_time_ms / 1000, tz=UTC).strftime("%m-%d %H:%M")


def _series(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def overlays(candles: Sequence[Candle], periods: Periods) -> dict[str, list[float | None]]:
    """The EMAs and Bollinger bands over ``candles``' closes (``None`` through the warm-up)."""
    close = np.array([c["close"] for c in candles], dtype=np.float64)
    if len(close) == 0:
        return {name: [] for name in overlay_names(periods)}
    upper, middle, lower = ta.bbands(close, periods.bb_period, periods.bb_nbdev, periods.bb_nbdev)
    fast, slow, bb_up, bb_mid, bb_low = overlay_names(periods)
    return {
        fast: _series(ta.ema(close, periods.ema_fast)),
        slow: _series(ta.ema(close, periods.ema_slow)),
        bb_up: _series(upper),
        bb_mid: _series(middle),
        bb_low: _series(lower),
    }


def overlay_names(periods: Periods) -> tuple[str, str, str, str, str]:
    """The overlays' series names (EMA fast, EMA slow, BB upper, middle, lower)."""
    bb = f"BB({periods.bb_period},{periods.bb_nbdev:g})"
    return (
        f"EMA {periods.ema_fast}",
        f"EMA {periods.ema_slow}",
        f"{bb} upper",
        f"{bb} middle",
        f"{bb} lower",
    )


@dataclass(frozen=True)
class Marker:
    """A point on the chart: a signal, an entry or an exit."""

    time_ms: int
    price: float
    text: str
    colour: str
    up: bool


def _place(candles: Sequence[Candle], interval_ms: int, marker: Marker) -> str | None:
    """The x label of the candle ``marker`` happened in (``None`` outside the chart)."""
    if not candles:
        return None
    opens = [c["open_time"] for c in candles]
    i = bisect.bisect_right(opens, marker.time_ms) - 1
    if i < 0 or marker.time_ms >= opens[i] + interval_ms:
        return None
    return label(opens[i])


def _points(
    candles: Sequence[Candle], interval_ms: int, markers: Iterable[Marker]
) -> list[dict[str, Any]]:
    points = []
    for m in markers:
        x = _place(candles, interval_ms, m)
        if x is None:
            continue
        points.append(
            {
                "value": [x, m.price],
                "name": m.text,
                "symbol": "triangle",
                "symbolRotate": 0 if m.up else 180,
                "itemStyle": {"color": m.colour, "borderColor": "#111827", "borderWidth": 1},
            }
        )
    return points


def chart_options(
    candles: Sequence[Candle],
    periods: Periods,
    *,
    up: str,
    down: str,
    interval_ms: int = 60_000,
    signals: Iterable[Marker] = (),
    trades: Iterable[Marker] = (),
    levels: Iterable[tuple[str, float, str]] = (),
) -> Options:
    """The whole chart: candles and overlays above, volume below, zoom, markers.

    ``levels`` are horizontal lines (name, price, colour): an open trade's
    entry and stop.
    """
    names = overlay_names(periods)
    colours = (*EMA_COLOURS, BAND_COLOUR, BAND_COLOUR, BAND_COLOUR)
    start = max(0.0, 100.0 * (1 - FIRST_VIEW / len(candles))) if candles else 0.0
    options: Options = {
        "animation": False,
        "legend": {"top": 0, "data": [CANDLES, *names, SIGNALS, TRADES]},
        "tooltip": {
            "trigger": "axis",
            "axisPointer": {"type": "cross"},
            # a JavaScript function (NiceGUI evaluates keys starting with ":"): no float noise
            ":valueFormatter": TOOLTIP_NUMBER,
        },
        "axisPointer": {"link": [{"xAxisIndex": "all"}]},
        "grid": [
            {"left": 70, "right": 30, "top": 40, "height": "58%"},
            {"left": 70, "right": 30, "top": "73%", "height": "14%"},
        ],
        "xAxis": [
            {"type": "category", "data": [], "boundaryGap": True, "axisLabel": {"show": False}},
            {"type": "category", "gridIndex": 1, "data": [], "boundaryGap": True},
        ],
        "yAxis": [
            {"scale": True, "splitArea": {"show": True}},
            {"scale": True, "gridIndex": 1, "splitNumber": 2, "axisLabel": {"show": False}},
        ],
        "dataZoom": [
            {"type": "inside", "xAxisIndex": [0, 1], "start": start, "end": 100},
            {"type": "slider", "xAxisIndex": [0, 1], "start": start, "end": 100, "bottom": 8},
        ],
        "series": [
            {
                "name": CANDLES,
                "type": "candlestick",
                "data": [],
                "itemStyle": {
                    "color": up,
                    "color0": down,
                    "borderColor": up,
                    "borderColor0": down,
                },
                "markLine": {"symbol": "none", "data": []},
            },
            *(
                {
                    "name": name,
                    "type": "line",
                    "data": [],
                    "showSymbol": False,
                    "lineStyle": {
                        "width": 1,
                        "color": colour,
                        "type": LINE_TYPES[i],
                    },
                    "itemStyle": {"color": colour},
                }
                for i, (name, colour) in enumerate(zip(names, colours, strict=True))
            ),
            {
                "name": VOLUME,
                "type": "bar",
                "xAxisIndex": 1,
                "yAxisIndex": 1,
                "data": [],
            },
            {
                "name": SIGNALS,
                "type": "scatter",
                "symbolSize": 14,
                "z": 10,
                "itemStyle": {"color": SIGNAL_COLOUR},
                "data": [],
            },
            {
                "name": TRADES,
                "type": "scatter",
                "symbolSize": 16,
                "z": 11,
                "itemStyle": {"color": ENTRY_COLOUR},
                "data": [],
            },
        ],
    }
    refresh(
        options,
        candles,
        periods,
        up=up,
        down=down,
        interval_ms=interval_ms,
        signals=signals,
        trades=trades,
        levels=levels,
    )
    return options


def refresh(
    options: Options,
    candles: Sequence[Candle],
    periods: Periods,
    *,
    up: str,
    down: str,
    interval_ms: int = 60_000,
    signals: Iterable[Marker] = (),
    trades: Iterable[Marker] = (),
    levels: Iterable[tuple[str, float, str]] = (),
) -> None:
    """Put ``candles`` and what goes with them into ``options`` (same series, new data)."""
    labels = [label(c["open_time"]) for c in candles]
    for axis in options["xAxis"]:
        axis["data"] = labels
    by_name = {s["name"]: s for s in options["series"]}
    by_name[CANDLES]["data"] = [[c["open"], c["close"], c["low"], c["high"]] for c in candles]
    by_name[CANDLES]["markLine"]["data"] = [
        {
            "name": name,
            "yAxis": level,
            "lineStyle": {"color": colour, "type": "dashed"},
            "label": {"formatter": name, "position": "insideEndTop"},
        }
        for name, level, colour in levels
    ]
    for name, values in overlays(candles, periods).items():
        by_name[name]["data"] = values
    by_name[VOLUME]["data"] = [
        {"value": c["volume"], "itemStyle": {"color": up if c["close"] >= c["open"] else down}}
        for c in candles
    ]
    by_name[SIGNALS]["data"] = _points(candles, interval_ms, signals)
    by_name[TRADES]["data"] = _points(candles, interval_ms, trades)


def zoom_window(event: dict[str, Any]) -> tuple[float, float] | None:
    """Where the user zoomed, in percent (from an ECharts ``datazoom`` event's arguments)."""
    window = (event.get("batch") or [event])[0]
    start, end = window.get("start"), window.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return None
    return float(start), float(end)


def keep_zoom(options: Options, window: tuple[float, float] | None) -> None:
    """Put the user's zoom back into ``options`` before an update (else it would reset it)."""
    if window is None:
        return
    for zoom in options["dataZoom"]:
        zoom["start"], zoom["end"] = window


def add_candle(candles: list[Candle], candle: Candle, keep: int) -> bool:
    """Append a closed candle (or replace the last one, same open time); at most ``keep``.

    ``False`` when it is older than the last one (nothing changes).
    """
    if candles and candle["open_time"] < candles[-1]["open_time"]:
        return False
    if candles and candle["open_time"] == candles[-1]["open_time"]:
        candles[-1] = candle
    else:
        candles.append(candle)
        del candles[:-keep]
    return True
