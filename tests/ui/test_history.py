"""The History page: closed trades, totals, the P&L and equity charts, the CSV export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.polling import until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


def trade_and_close(ui_platform: UiPlatform, who: Account, symbol: str, amount: str) -> int:
    body = {"symbol": symbol, "side": "BUY", "quote_amount": amount}
    r = ui_platform.api("POST", "/trades/execute", who, json=body)
    assert r.status_code == 201, r.text
    tid: int = r.json()["id"]
    r = ui_platform.api("POST", f"/trades/{tid}/close", who)
    assert r.status_code == 200, r.text
    return tid


def closed_trades(ui_platform: UiPlatform, who: Account) -> list[dict[str, Any]]:
    r = ui_platform.api("GET", "/trades/history", who, params={"limit": 500})
    assert r.status_code == 200, r.text
    return [t for t in r.json()["trades"] if t["status"] == "closed"]


def fees(ui_platform: UiPlatform, who: Account) -> dict[str, str]:
    """The platform fee of each trade, by its fee reference (``trade...-<id>``)."""
    r = ui_platform.api("GET", "/client/history", who, params={"limit": 500})
    assert r.status_code == 200, r.text
    return {op["trade_ref"]: op["fee"] for op in r.json()["operations"] if op["type"] == "trade"}


def charged_fees(ui_platform: UiPlatform, who: Account, count: int) -> dict[str, str] | None:
    """The fees once ``count`` trades have been charged."""
    found = fees(ui_platform, who)
    return found if len(found) == count else None


def fee_of(all_fees: dict[str, str], trade_id: int) -> str:
    (fee,) = [f for ref, f in all_fees.items() if ref.endswith(f"-{trade_id}")]
    return fee


def one(user: User, marker: str) -> Any:
    (element,) = user.find(marker=marker).elements
    return element


async def open_history(user: User, who: Account) -> ui.table:
    await log_in(user, who.email)
    await see(user, "Log out")
    await user.open("/history")
    await see(user, "Closed trades")
    table = one(user, "history-table")
    assert isinstance(table, ui.table)
    return table


async def test_closed_trades_totals_and_the_cumulative_pnl_are_the_apis(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("history")
    ids = [
        trade_and_close(ui_platform, me, "BTCUSDT", "100"),
        trade_and_close(ui_platform, me, "ETHUSDT", "150"),
        trade_and_close(ui_platform, me, "BTCUSDT", "80"),
    ]
    # the platform fee is charged just after each close
    charged = await until(lambda: charged_fees(ui_platform, me, len(ids)), "the three fees")
    api = closed_trades(ui_platform, me)
    assert sorted(t["id"] for t in api) == sorted(ids)

    table = await open_history(user, me)
    await until(lambda: len(table.rows) == len(ids), "three rows")
    by_id = {r["id"]: r for r in table.rows}
    for t in api:
        row = by_id[t["id"]]
        assert row["symbol"] == t["symbol"]
        assert row["side"] == "BUY"
        assert row["entry_price"] == t["entry_price"]
        assert row["exit_price"] == t["exit_price"]
        assert row["quantity"] == t["quantity"]
        assert row["realized_pnl"] == t["realized_pnl"]
        assert row["close_reason"] == "manual"
        assert row["platform_fee"] == fee_of(charged, t["id"])

    # totals, summed here by hand from the API's strings
    pnls = [Decimal(t["realized_pnl"]) for t in api]
    fee_sum = sum((Decimal(f) for f in charged.values()), Decimal(0))
    wins = sum(1 for p in pnls if p > 0)
    await until(lambda: one(user, "total-trades").text == "3", "the count")
    assert one(user, "total-pnl").text == f"{sum(pnls, Decimal(0)):,.2f}"
    assert one(user, "total-fees").text == f"{fee_sum:,.2f}"
    assert one(user, "total-winrate").text == f"{Decimal(wins * 100) / 3:.1f}%"

    # the cumulative P&L: the running sum in the order the trades closed
    oldest_first = sorted(api, key=lambda t: (t["closed_at"], t["id"]))
    running, expected = Decimal(0), []
    for t in oldest_first:
        running += Decimal(t["realized_pnl"])
        expected.append([t["closed_at"], running])
    chart = one(user, "pnl-chart")
    assert isinstance(chart, ui.echart)
    series = chart.options["series"][0]["data"]
    assert [[at, Decimal(v)] for at, v in series] == expected

    # the equity curve starts at the paper account's starting balance and ends at its equity
    account = ui_platform.api("GET", "/trades/account", me).json()
    equity = one(user, "equity-chart").options["series"][0]["data"]
    assert Decimal(equity[0][1]) == Decimal(account["starting_balance"])
    assert [Decimal(v) for _, v in equity[1:-1]] == [
        Decimal(account["starting_balance"]) + pnl for _, pnl in expected
    ]


async def test_the_csv_export_is_the_apis_rows(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("csv")
    ids = [trade_and_close(ui_platform, me, s, "100") for s in ("BTCUSDT", "SOLUSDT")]
    charged = await until(lambda: charged_fees(ui_platform, me, 2), "the two fees")
    table = await open_history(user, me)
    await until(lambda: len(table.rows) == len(ids), "two rows")

    user.find(marker="export-csv").click()
    response = await user.download.next(timeout=5)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    api = {t["id"]: t for t in closed_trades(ui_platform, me)}
    assert sorted(int(r["id"]) for r in rows) == sorted(ids)
    for r in rows:
        t = api[int(r["id"])]
        for field in (
            "symbol",
            "side",
            "mode",
            "origin",
            "quantity",
            "entry_price",
            "exit_price",
            "realized_pnl",
            "close_reason",
            "created_at",
            "closed_at",
        ):
            assert r[field] == t[field], field
        assert r["platform_fee"] == fee_of(charged, t["id"])


async def test_a_trade_closed_while_the_page_is_open_appears_without_reload(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("livehist")
    table = await open_history(user, me)
    await see(user, "total-trades")
    assert table.rows == []
    tid = trade_and_close(ui_platform, me, "BTCUSDT", "100")
    await until(lambda: [r["id"] for r in table.rows] == [tid], "the closed trade")
    (t,) = closed_trades(ui_platform, me)
    assert table.rows[0]["realized_pnl"] == t["realized_pnl"]
    # its fee, charged just after the close, follows
    await until(lambda: table.rows[0]["platform_fee"], "the fee")
    assert table.rows[0]["platform_fee"] == fee_of(fees(ui_platform, me), tid)
