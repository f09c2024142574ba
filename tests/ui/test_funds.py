"""``/funds``: the prepaid balance, simulated deposits, the ledger, the trading account."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.polling import until, wait_until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


def thousands(value: str) -> str:
    """A decimal string as the page writes money: two places, thousands separated."""
    return f"{Decimal(value):,.2f}"


def balance(ui_platform: UiPlatform, me: Account) -> Decimal:
    r = ui_platform.api("GET", "/client/funds", me)
    assert r.status_code == 200, r.text
    return Decimal(r.json()["balance"])


def ledger_rows(user: User) -> list[dict[str, Any]]:
    (table,) = user.find(marker="ledger").elements
    assert isinstance(table, ui.table)
    return table.rows


async def open_funds(user: User, me: Account) -> None:
    await log_in(user, me.email)
    await see(user, "Log out")  # the dashboard is open: the login has finished
    await user.open("/funds")
    await see(user, "Prepaid balance", "Trading account")


async def deposit(user: User, amount: str, outcome: str) -> None:
    """Deposit through the form, the payment simulator's ``outcome`` chosen as a user would."""
    user.find(marker="deposit-open").click()
    user.find(marker="deposit-amount").type(amount)
    user.find(outcome).click()
    user.find(marker="deposit-pay").click()


async def test_the_page_shows_the_prepaid_balance_and_its_ledger(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("funds-show", deposit="1234.5")
    await open_funds(user, me)
    await see(user, "1,234.50")
    history = ui_platform.api("GET", "/client/history", me).json()["operations"]
    assert history, "the registration deposit is in the ledger"
    rows = ledger_rows(user)
    assert [(r["type"], r["id"], r["raw_amount"]) for r in rows] == [
        (op["type"], op["id"], op["amount"]) for op in history
    ]
    assert rows[0]["status"] == "succeeded"


async def test_a_successful_deposit_raises_the_balance_by_exactly_the_amount(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("funds-ok", deposit="100")
    await open_funds(user, me)
    await see(user, "100.00")
    before = balance(ui_platform, me)
    await deposit(user, "25.37", "Succeeds")
    await see(user, "Deposited 25.37 USDT")
    assert balance(ui_platform, me) == before + Decimal("25.37")
    await see(user, thousands(str(before + Decimal("25.37"))))


async def test_a_double_click_deposits_once(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("funds-twice", deposit="100")
    await open_funds(user, me)
    before = balance(ui_platform, me)
    user.find(marker="deposit-open").click()
    user.find(marker="deposit-amount").type("7")
    pay = user.find(marker="deposit-pay")
    pay.click()
    pay.click()
    await see(user, "Deposited 7.00 USDT")
    ops = ui_platform.api("GET", "/client/history", me).json()["operations"]
    assert sum(1 for op in ops if op["type"] == "deposit") == 2  # registration + this one
    assert balance(ui_platform, me) == before + 7


async def test_a_declined_deposit_credits_nothing_and_says_why(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("funds-fail", deposit="100")
    await open_funds(user, me)
    before = balance(ui_platform, me)
    await deposit(user, "40", "Is declined")
    await see(user, "the payment was declined; nothing was credited")
    assert balance(ui_platform, me) == before
    # the ledger lists the declined payment, as the API does
    await until(
        lambda: any(r["status"] == "failed" for r in ledger_rows(user)),
        "the failed deposit in the ledger",
        timeout=10,
    )
    ops = ui_platform.api("GET", "/client/history", me).json()["operations"]
    (failed,) = [op for op in ops if op["status"] == "failed"]
    assert failed["amount"] == "40.00"


async def test_a_pending_deposit_is_shown_as_pending(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("funds-pending", deposit="100")
    await open_funds(user, me)
    before = balance(ui_platform, me)
    await deposit(user, "60", "Stays pending")
    await see(user, "pending: credited once it settles")
    await see(user, "Pending: 60.00 USDT")
    assert balance(ui_platform, me) == before
    ops = ui_platform.api("GET", "/client/history", me).json()["operations"]
    (pending,) = [op for op in ops if op["status"] == "pending"]
    assert pending["amount"] == "60.00"
    await user.should_see(marker=f"pending-{pending['id']}")


async def test_the_trading_account_is_what_the_trade_engine_says(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("funds-account")
    reset = ui_platform.api("POST", "/trades/account/reset", me, json={"balance": "2500"})
    assert reset.status_code == 200, reset.text
    await open_funds(user, me)
    acc = ui_platform.api("GET", "/trades/account", me).json()
    await see(user, f"{thousands(acc['equity'])} {acc['currency']}")
    await user.should_see(marker="account-equity", content=thousands(acc["equity"]))
    await user.should_see(marker="account-start", content="2,500.00")
    (table,) = user.find(marker="account-balances").elements
    assert isinstance(table, ui.table)
    assert [(r["asset"], r["free"], r["locked"]) for r in table.rows] == [
        (b["asset"], b["free"], b["locked"]) for b in acc["balances"]
    ]
    assert acc["mode"] == "paper"
    await see(user, "paper")


def wait_api(ui_platform: UiPlatform, me: Account, path: str, ok: Callable[[Any], bool]) -> Any:
    """Poll ``GET path`` as ``me`` until ``ok(body)`` (the paper fills follow the replay)."""

    def ready() -> tuple[Any] | None:
        body = ui_platform.api("GET", path, me).json()
        return (body,) if ok(body) else None

    return wait_until(ready, f"GET {path} to get there", timeout=20)[0]


async def test_the_equity_curve_adds_each_closed_trades_realized_pnl(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("funds-curve")
    assert ui_platform.api("POST", "/trades/account/reset", me, json={"balance": "5000"}).is_success
    placed = ui_platform.api(
        "POST",
        "/trades/execute",
        me,
        json={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "100"},
    )
    assert placed.status_code == 201, placed.text
    trade_id = placed.json()["id"]
    wait_api(
        ui_platform,
        me,
        "/trades/active",
        lambda b: any(t["id"] == trade_id and t["status"] == "open" for t in b["trades"]),
    )
    closed = ui_platform.api("POST", f"/trades/{trade_id}/close", me)
    assert closed.status_code == 200, closed.text
    (trade,) = wait_api(
        ui_platform,
        me,
        "/trades/history",
        lambda b: any(t["id"] == trade_id and t["status"] == "closed" for t in b["trades"]),
    )["trades"]
    await open_funds(user, me)
    acc = ui_platform.api("GET", "/trades/account", me).json()
    await see(user, "Realized P&L")
    (chart,) = user.find(marker="equity-chart").elements
    assert isinstance(chart, ui.echart)
    await until(
        lambda: len(chart.options["series"][0]["data"]) == 3, "three equity points", timeout=10
    )
    start, after_trade, now = (Decimal(v) for _, v in chart.options["series"][0]["data"])
    assert start == Decimal("5000")
    assert after_trade == Decimal("5000") + Decimal(trade["realized_pnl"])
    # the last point is today's equity: only the dust the BUY's commission left moves with the
    # price since the API was read
    assert abs(now - Decimal(acc["equity"])) < Decimal("0.01")


async def test_a_closed_trade_shows_without_reloading(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("funds-live")
    await open_funds(user, me)
    await user.should_see(marker="account-realized", content="0.00", retries=50)
    placed = ui_platform.api(
        "POST",
        "/trades/execute",
        me,
        json={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "200"},
    )
    assert placed.status_code == 201, placed.text
    trade_id = placed.json()["id"]
    wait_api(
        ui_platform,
        me,
        "/trades/active",
        lambda b: any(t["id"] == trade_id and t["status"] == "open" for t in b["trades"]),
    )
    assert ui_platform.api("POST", f"/trades/{trade_id}/close", me).status_code == 200
    realized = ui_platform.api("GET", "/trades/account", me).json()["realized_pnl"]
    assert Decimal(realized) != 0
    # pushed by the trade's events: well before the page's 15 s fallback refresh
    await user.should_see(marker="account-realized", content=thousands(realized), retries=50)
    await until(
        lambda: any(r["type"] == "fee_charge" for r in ledger_rows(user)),
        "the fee in the ledger",
        timeout=5,
    )
