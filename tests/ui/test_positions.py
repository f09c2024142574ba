"""The Positions page: placing, listing, closing trades, refusals, live updates."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.polling import until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


def text(user: User, marker: str) -> str:
    """The text of the one label marked ``marker``."""
    (element,) = user.find(marker=marker).elements
    assert isinstance(element, ui.label)
    return str(element.text)


def has_text(user: User, marker: str) -> str | None:
    """The text of ``marker`` once it is shown and not empty."""
    try:
        found = user.find(marker=marker).elements
    except AssertionError:  # not on the page (yet)
        return None
    return next((str(e.text) for e in found if isinstance(e, ui.label) and e.text), None)


def active(ui_platform: UiPlatform, who: Account) -> list[dict[str, Any]]:
    r = ui_platform.api("GET", "/trades/active", who)
    assert r.status_code == 200, r.text
    trades: list[dict[str, Any]] = r.json()["trades"]
    return trades


def buy(ui_platform: UiPlatform, who: Account, amount: str = "100") -> dict[str, Any]:
    body = {"symbol": "BTCUSDT", "side": "BUY", "quote_amount": amount}
    r = ui_platform.api("POST", "/trades/execute", who, json=body)
    assert r.status_code == 201, r.text
    trade: dict[str, Any] = r.json()
    return trade


async def open_positions(user: User, who: Account) -> None:
    await log_in(user, who.email)
    await see(user, "Log out")  # the login page has moved on to the dashboard
    await user.open("/positions")
    await see(user, "New trade")
    # the symbols come from the market service: wait until the form offers them
    (select,) = user.find(marker="trade-symbol").elements
    await until(lambda: isinstance(select, ui.select) and select.options, "the symbols")


def choose(user: User, marker: str, value: str) -> None:
    (element,) = user.find(marker=marker).elements
    assert isinstance(element, ui.select | ui.toggle)
    assert value in element.options
    element.value = value


async def test_a_trade_placed_from_the_form_shows_the_apis_entry_and_quantity(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("form")
    await open_positions(user, me)
    await see(user, "No open trades.")
    choose(user, "trade-symbol", "BTCUSDT")
    user.find(marker="trade-amount").type("100")
    user.find(marker="trade-submit").click()

    # the trade is booked pending before its order fills: wait for the fill
    trades = await until(
        lambda: [t for t in active(ui_platform, me) if t["status"] == "open"] or None,
        "the filled trade at the API",
    )
    (trade,) = trades
    tid = trade["id"]
    await until(lambda: has_text(user, f"entry-{tid}") == trade["entry_price"], "the entry")
    assert text(user, f"qty-{tid}") == trade["open_quantity"]
    assert text(user, f"stop-{tid}") == (trade["tracked_stop"] or trade["stop_loss"])
    assert text(user, "trade-placed").startswith(f"Trade #{tid} open: BUY {trade['quantity']}")
    # the quote amount bought about 100 USDT's worth (the lot step rounds it down)
    notional = Decimal(trade["quantity"]) * Decimal(trade["entry_price"])
    assert Decimal("95") < notional <= Decimal("100")
    # the risk summary counts it as the risk manager does
    risk = ui_platform.api("GET", "/risk/status", me).json()
    assert risk["open_positions"] == 1
    await until(lambda: text(user, "risk-open") == "1", "one open position in the summary")


async def test_the_risk_managers_refusals_are_shown_verbatim(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("refused")
    await open_positions(user, me)

    # far above the exposure cap of a fresh 10,000 USDT paper account
    choose(user, "trade-symbol", "BTCUSDT")
    user.find(marker="trade-amount").type("100000")
    user.find(marker="trade-submit").click()
    shown = await until(lambda: has_text(user, "trade-refusal"), "the refusal")
    same = ui_platform.api(
        "POST",
        "/trades/execute",
        me,
        json={"symbol": "BTCUSDT", "side": "BUY", "quote_amount": "100000"},
    )
    assert same.status_code == 422
    # the same sentence as the API's (its exposure moves with the price between the two asks)
    digits = re.compile(r"\d+(\.\d+)?")
    assert digits.sub("N", shown) == digits.sub("N", same.json()["detail"])
    assert shown.endswith("above the cap 10000 (100% of equity 10000)")
    assert "cap: 10000" in text(user, "trade-numbers")
    assert active(ui_platform, me) == []

    # selling what is not held: the sentence the API gives for it
    choose(user, "trade-side", "SELL")
    (amount,) = user.find(marker="trade-amount").elements
    assert isinstance(amount, ui.input)
    amount.value = ""
    user.find(marker="trade-submit").click()
    expected = ui_platform.api(
        "POST", "/trades/execute", me, json={"symbol": "BTCUSDT", "side": "SELL"}
    ).json()["detail"]
    assert expected.startswith("nothing of BTCUSDT is held")
    await until(lambda: has_text(user, "trade-refusal") == expected, "the no-holding refusal")

    # a malformed amount: the service's validation message
    choose(user, "trade-side", "BUY")
    user.find(marker="trade-amount").type("12,5")
    user.find(marker="trade-submit").click()
    await until(
        lambda: (
            has_text(user, "trade-refusal")
            == 'quote_amount: not a decimal like "0.5" (digits and a point, no exponent)'
        ),
        "the validation message",
    )


async def test_closing_asks_first_then_the_trade_moves_to_history(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("closer")
    trade = buy(ui_platform, me)
    tid = trade["id"]
    await open_positions(user, me)
    await see(user, f"close-{tid}")

    # asking is not closing: keep it open
    user.find(marker=f"close-{tid}").click()
    assert f"Trade #{tid}: BUY {trade['open_quantity']} BTCUSDT" in text(user, "close-what")
    user.find(marker="close-cancel").click()
    assert [t["id"] for t in active(ui_platform, me)] == [tid]

    user.find(marker=f"close-{tid}").click()
    user.find(marker="close-confirm").click()
    await user.should_not_see(marker=f"row-{tid}", retries=100)
    assert active(ui_platform, me) == []
    history = ui_platform.api("GET", "/trades/history", me).json()["trades"]
    (closed,) = [t for t in history if t["id"] == tid]
    assert closed["status"] == "closed"
    assert closed["close_reason"] == "manual"
    said = await until(lambda: has_text(user, "close-result"), "what the close did")
    assert said == (
        f"Trade #{tid} closed at {closed['exit_price']}: "
        f"realised P&L {Decimal(closed['realized_pnl']):,.2f}"
    )

    await user.open("/history")
    await see(user, "Closed trades")
    (table,) = user.find(marker="history-table").elements
    assert isinstance(table, ui.table)
    await until(lambda: any(r["id"] == tid for r in table.rows), "the trade in the history")
    (row,) = [r for r in table.rows if r["id"] == tid]
    assert row["realized_pnl"] == closed["realized_pnl"]
    assert row["close_reason"] == "manual"
    assert row["exit_price"] == closed["exit_price"]


async def test_another_clients_trade_cannot_be_closed_from_this_session(
    user: User, ui_platform: UiPlatform
) -> None:
    owner = ui_platform.new_client("owner")
    theirs = buy(ui_platform, owner)
    me = ui_platform.new_client("intruder")
    await log_in(user, me.email)
    await see(user, "Log out")

    # changing the id in the address: the page asks, the Trade service refuses
    await user.open(f"/positions?close={theirs['id']}")
    await see(user, "Close this trade at the market?")
    await see(user, "No open trades.")
    user.find(marker="close-confirm").click()
    refused = ui_platform.api("POST", f"/trades/{theirs['id']}/close", me)
    assert refused.status_code == 404
    await until(lambda: has_text(user, "close-refusal") == refused.json()["detail"], "the refusal")
    assert [t["id"] for t in active(ui_platform, owner)] == [theirs["id"]]
    assert active(ui_platform, owner)[0]["status"] == "open"


async def test_a_trade_placed_elsewhere_and_its_stop_move_show_without_reload(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("live")
    await open_positions(user, me)
    await see(user, "No open trades.")

    trade = buy(ui_platform, me)  # over the API, not through the page
    tid = trade["id"]
    await see(user, f"entry-{tid}")
    assert text(user, f"entry-{tid}") == trade["entry_price"]
    # the live price marks it: the P&L is (price - entry) x quantity as shown
    await until(lambda: text(user, f"price-{tid}") != "—", "a price")
    price, shown = text(user, f"price-{tid}"), text(user, f"pnl-{tid}")  # read together
    pnl = (Decimal(price) - Decimal(trade["entry_price"])) * Decimal(trade["open_quantity"])
    assert Decimal(shown.replace(",", "")) == pnl.quantize(Decimal("0.01"))

    # moving the stop up by hand (PATCH) sends SLAdjusted: the row follows
    initial = Decimal(trade["stop_loss"])
    tighter = str(initial + Decimal("100"))
    r = ui_platform.api("PATCH", f"/trades/{tid}", me, json={"stop_loss": tighter})
    assert r.status_code == 200, r.text
    moved = r.json()["tracked_stop"]
    assert Decimal(moved) == Decimal(tighter)
    await until(lambda: text(user, f"stop-{tid}") == moved, "the moved stop")
    assert text(user, "close-result") == ""  # nothing was closed

    # and a close made elsewhere takes it off
    r = ui_platform.api("POST", f"/trades/{tid}/close", me)
    assert r.status_code == 200, r.text
    await user.should_not_see(marker=f"row-{tid}", retries=100)
    await see(user, "No open trades.")


async def test_the_stop_is_moved_from_the_page_only_tighter(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("mover")
    trade = buy(ui_platform, me)
    tid = trade["id"]
    initial = Decimal(trade["stop_loss"])
    await open_positions(user, me)
    await see(user, f"move-stop-{tid}")

    def ask(price: Decimal) -> None:
        user.find(marker=f"move-stop-{tid}").click()
        (field,) = user.find(marker="stop-price").elements
        assert isinstance(field, ui.input)
        assert field.value == text(user, f"stop-{tid}")  # it starts from the stop in force
        field.value = f"{price:f}"
        user.find(marker="stop-confirm").click()

    # a looser stop: the Trade service refuses it, and says why
    ask(initial - 100)
    looser = ui_platform.api(
        "PATCH", f"/trades/{tid}", me, json={"stop_loss": f"{initial - 100:f}"}
    )
    assert looser.status_code == 422, looser.text
    await until(lambda: has_text(user, "stop-refusal") == looser.json()["detail"], "the refusal")
    assert text(user, f"stop-{tid}") == trade["stop_loss"]

    # a tighter one moves it
    ask(initial + 50)
    moved = await until(
        lambda: (t := active(ui_platform, me)[0])["tracked_stop"] != trade["stop_loss"] and t,
        "the stop moved at the API",
    )
    assert Decimal(moved["tracked_stop"]) == initial + 50
    await until(lambda: text(user, f"stop-{tid}") == moved["tracked_stop"], "the moved stop")
    assert text(user, "stop-refusal") == ""
