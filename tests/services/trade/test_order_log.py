"""Every order, fill and trade close is in the JSON-lines log, and no secret is."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import pytest

from avd.logs import JsonLinesFormatter, RedactingFilter
from avd.services.trade.plans import TradeOrder
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price


@pytest.fixture
def json_log(tmp_path: Path) -> Iterator[Path]:
    """The platform's JSON-lines file handler on the root logger, for one test."""
    path = tmp_path / "avd.jsonl"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_orders_fills_and_closes_are_logged_without_secrets(
    sim: Sim, tmp_path: Path, json_log: Path
) -> None:
    async def go() -> tuple[int, int, int, str]:
        stack = await make_stack(tmp_path, sim)
        try:
            paper, _ = await stack.client("logp@example.com")
            live, token = await stack.client("logl@example.com", mode="live")
            price = await sim_price(sim)
            order = TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(100), stop_loss=price - 1000)
            tp = await stack.engine.execute(paper, order)
            tl = await stack.engine.execute(live, order)
            await stack.engine.close(paper, tp.id)
            await stack.engine.close(live, tl.id)
            await stack.hub.drain()
            return tp.id, tl.id, live, token
        finally:
            await close_stack(stack)

    tp, tl, live, token = run(go())
    text = json_log.read_text(encoding="utf-8")
    # the live client's API key and secret (see the conftest) and its token
    assert "k" * 64 not in text and "s" * 64 not in text and token not in text
    recs = _records(json_log)
    orders = [r for r in recs if r.get("event") == "order"]
    fills = [r for r in recs if r.get("event") == "fill"]
    closes = [r for r in recs if r.get("event") == "trade_closed"]

    def legs(trade_id: int) -> list[tuple[str, str]]:
        return [
            (r["client_order_id"].rsplit("-", 1)[1], r["action"])
            for r in orders
            if r["client_order_id"].split("-")[2] == str(trade_id)
        ]

    # paper: the entry filled at once, the exit settled by the fill model
    assert legs(tp) == [("e", "placed"), ("x", "settled")]
    # live (the simulator): entry, protective stop, its cancel, the exit
    assert legs(tl) == [("e", "placed"), ("s0", "placed"), ("s0", "cancelled"), ("x", "placed")]
    entry = next(r for r in orders if r["client_order_id"].endswith(f"-{tl}-e"))
    assert (entry["venue"], entry["side"], entry["type"], entry["status"]) == (
        "live",
        "BUY",
        "MARKET",
        "FILLED",
    )
    assert {(f["trade_id"], f["purpose"]) for f in fills} >= {
        (tp, "entry"),
        (tp, "exit"),
        (tl, "entry"),
        (tl, "exit"),
    }
    assert all(Dec(f["qty"]) > 0 and Dec(f["price"]) > 0 for f in fills)
    assert sorted((c["trade_id"], c["reason"]) for c in closes) == [
        (tp, "manual"),
        (tl, "manual"),
    ]
    assert next(c for c in closes if c["trade_id"] == tl)["client_id"] == live
