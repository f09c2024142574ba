"""The market page's scanner panel: ``GET /scanner``'s ranked rows, refreshed every few seconds."""

from __future__ import annotations

import contextlib
from typing import Any

from nicegui import ui

from avd.ui.api import ServiceError
from avd.ui.components import market_text as fmt
from avd.ui.session import Session

#: seconds between two reads (the scanner itself recomputes once per closed candle)
REFRESH_S = 10.0
TOP = 10

COLUMNS = [
    {"name": "rank", "label": "#", "field": "rank", "align": "left"},
    {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
    {"name": "score", "label": "Score", "field": "score_text"},
    {"name": "context", "label": "Context", "field": "context_text"},
    {"name": "quality", "label": "Quality", "field": "quality_text"},
    {"name": "regime", "label": "Regime", "field": "regime_text", "align": "left"},
    {"name": "volume", "label": "Quote volume 24 h", "field": "volume_text"},
    {"name": "volatility", "label": "Volatility %", "field": "volatility_text"},
    {"name": "stability", "label": "Stability", "field": "stability_text"},
    {"name": "price", "label": "Price", "field": "price_text"},
]


def scanner_row(r: dict[str, Any]) -> dict[str, Any]:
    """A table row from a ``/scanner`` row (the raw values and their text)."""
    vol = r.get("volatility")
    return {
        **r,
        "key": f"{r['symbol']} {r['interval']}",
        "score_text": f"{r['score']:.1f}",
        "context_text": f"{r['context_score']:.1f}",
        "quality_text": f"{r['quality']:.2f}",
        "regime_text": r.get("regime") or "—",
        "volume_text": f"{r['quote_volume_24h']:,.0f}",
        "volatility_text": "—" if vol is None else f"{vol:.3f}",
        "stability_text": f"{r['stability']:.2f}",
        "price_text": fmt.price(r.get("price")),
    }


async def scanner_panel(s: Session, interval: str = "1m") -> ui.table:
    """The scanner's top rows of ``interval``, kept fresh; a click opens the symbol."""
    ui.label(f"Scanner ({interval}): context score x market quality").classes(
        "text-lg font-semibold mt-4"
    )
    table = ui.table(columns=COLUMNS, rows=[], row_key="key").classes("w-full")
    table.props("dense flat").mark("scanner-table")

    async def load() -> None:
        with contextlib.suppress(ServiceError):  # the next tick tries again
            body = await s.get("market", "/scanner", interval=interval, top=TOP)
            table.rows = [scanner_row(r) for r in body["rows"]]
            table.update()

    def opened(e: Any) -> None:
        row = e.args[1] if isinstance(e.args, list) and len(e.args) > 1 else None
        if isinstance(row, dict) and row.get("symbol"):
            ui.navigate.to(f"/symbol/{row['symbol']}?interval={interval}")

    table.on("rowClick", opened)
    await load()
    ui.timer(REFRESH_S, load, immediate=False)
    return table
