"""The admin dashboard: clients, one client's statistics, journal, parameters, health.

Expected values come from the services' own REST answers for the same
accounts (or hand-worked amounts), never from the pages' code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.polling import until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(ui_platform: UiPlatform) -> Iterator[Account]:
    """The platform's admin, logged in over the API (for set-up and checks)."""
    r = httpx.post(
        f"{ui_platform.url}/auth/login",
        json={"email": ui_platform.admin_email, "password": ui_platform.admin_password},
    )
    assert r.status_code == 200, r.text
    yield Account(0, ui_platform.admin_email, r.json()["access_token"])


async def as_admin(user: User, ui_platform: UiPlatform) -> None:
    await log_in(user, ui_platform.admin_email, ui_platform.admin_password)
    await see(user, "Clients")


def page_dump(user: User) -> str:
    """Everything the page sends the browser (texts, props, table rows), as one string."""
    assert user.client is not None
    return json.dumps(
        [e._to_dict() for e in user.client.layout.descendants()],
        default=str,
    )


def one(user: User, marker: str) -> Any:
    found = user.find(marker=marker).elements
    assert len(found) == 1, (marker, found)
    return next(iter(found))


async def shows(user: User, marker: str, content: str, timeout_s: float = 10.0) -> None:
    """Wait until the element marked ``marker`` shows ``content``."""
    await user.should_see(marker=marker, content=content, retries=int(timeout_s * 10))


async def rows_of(user: User, marker: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    await user.should_see(marker=marker, retries=int(timeout_s * 10))
    table = one(user, marker)
    assert isinstance(table, ui.table)
    return list(table.rows)


def get(ui_platform: UiPlatform, who: Account, path: str, **params: Any) -> Any:
    r = ui_platform.api("GET", path, who, params=params)
    assert r.status_code == 200, r.text
    return r.json()


# -- who may see what ------------------------------------------------------------------


async def test_a_client_gets_admins_only_and_no_admin_data(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("nosy")
    other = ui_platform.new_client("private")
    await log_in(user, me.email)
    await see(user, "Positions")
    for path in (
        "/admin",
        "/admin/audit",
        f"/admin/client/{other.id}",
        "/admin/settings",
        "/admin/health",
    ):
        await user.open(path)
        await see(user, "Admins only")
        page = page_dump(user)
        assert "Admins only" in page, path
        assert other.email not in page, path
        assert ui_platform.admin_email not in page, path
        for admin_word in ("Balance", "Journal", "Registration open", "Connections"):
            assert admin_word not in page, (path, admin_word)


async def test_a_stranger_is_sent_to_log_in(user: User) -> None:
    await user.open("/admin")
    await see(user, "Log in")
    await user.should_not_see("Admins only")


# -- clients ---------------------------------------------------------------------------


async def test_admin_searches_blocks_and_unblocks_a_client(
    user: User, ui_platform: UiPlatform, admin: Account
) -> None:
    target = ui_platform.new_client("blockme")
    bystander = ui_platform.new_client("bystander")
    await as_admin(user, ui_platform)
    await user.open("/admin")
    user.find(marker="search").type(target.email)
    user.find(marker="search-button").click()
    await user.should_see(marker=f"client-{target.id}", retries=100)
    await user.should_not_see(marker=f"client-{bystander.id}")
    await shows(user, f"status-{target.id}", "active")
    await shows(user, f"balance-{target.id}", "1,000.00")

    user.find(marker=f"block-{target.id}").click()
    user.find(marker="block-reason").type("chargeback dispute")
    user.find(marker="confirm").click()
    await shows(user, f"status-{target.id}", "blocked")

    found = get(ui_platform, admin, "/admin/clients", email=target.email)["clients"]
    assert [(c["id"], c["blocked"]) for c in found] == [(target.id, True)]
    r = httpx.post(
        f"{ui_platform.url}/auth/login", json={"email": target.email, "password": target.password}
    )
    assert r.status_code == 403 and r.json()["error"] == "account_blocked"
    journal = get(
        ui_platform, admin, "/admin/journal", action="client_blocked", subject_id=target.id
    )
    assert [e["detail"].get("reason") for e in journal["entries"]] == ["chargeback dispute"]

    user.find(marker=f"unblock-{target.id}").click()
    user.find(marker="confirm").click()
    await shows(user, f"status-{target.id}", "active")
    assert get(ui_platform, admin, f"/admin/clients/{target.id}")["blocked"] is False
    r = httpx.post(
        f"{ui_platform.url}/auth/login", json={"email": target.email, "password": target.password}
    )
    assert r.status_code == 200


async def test_an_adjustment_needs_a_reason_and_changes_the_balance_exactly(
    user: User, ui_platform: UiPlatform, admin: Account
) -> None:
    c = ui_platform.new_client("adjust", deposit="100.10")
    await as_admin(user, ui_platform)
    await user.open(f"/admin/client/{c.id}")
    await shows(user, "email", c.email)
    await shows(user, "stat-balance", "100.10")

    # no reason: refused with the service's own words, nothing changes
    refused = ui_platform.api(
        "POST", f"/admin/clients/{c.id}/adjustments", admin, json={"amount": "5", "reason": ""}
    )
    assert refused.status_code == 422
    user.find(marker="adjust").click()
    user.find(marker="adj-amount").type("5")
    user.find(marker="confirm").click()
    await shows(user, "action-error", refused.json()["detail"])
    reason_field = one(user, "adj-reason")
    assert reason_field.error
    assert f"reason: {reason_field.error}" in refused.json()["detail"]
    assert get(ui_platform, admin, f"/admin/clients/{c.id}")["balance"] == "100.10"

    # with a reason: the balance moves by exactly the amount
    user.find(marker="adj-reason").type("goodwill for the outage")
    one(user, "adj-amount").value = "-12.34"
    user.find(marker="confirm").click()
    await shows(user, "stat-balance", "87.76")
    assert get(ui_platform, admin, f"/admin/clients/{c.id}")["balance"] == "87.76"
    ops = get(ui_platform, c, "/client/history")["operations"]
    assert (ops[0]["type"], ops[0]["amount"], ops[0]["reason"]) == (
        "adjustment",
        "-12.34",
        "goodwill for the outage",
    )
    lines = get(ui_platform, admin, "/admin/journal", action="ledger_adjustment", subject_id=c.id)[
        "entries"
    ]
    assert [(e["detail"]["amount"], e["detail"]["reason"]) for e in lines] == [
        ("-12.34", "goodwill for the outage")
    ]
    # the journal on the client's page says so too
    rows = await rows_of(user, "client-journal")
    assert any("goodwill for the outage" in r["detail"] for r in rows)

    # a refund credits
    user.find(marker="refund").click()
    user.find(marker="adj-amount").type("2.24")
    user.find(marker="adj-reason").type("fee refunded")
    user.find(marker="confirm").click()
    await shows(user, "stat-balance", "90.00")
    assert get(ui_platform, admin, f"/admin/clients/{c.id}")["balance"] == "90.00"


async def test_a_clients_bot_statistics_match_its_own_trades(
    user: User, ui_platform: UiPlatform, admin: Account
) -> None:
    c = ui_platform.new_client("stats")
    body = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "100"}
    placed = ui_platform.api("POST", "/trades/execute", c, json=body)
    assert placed.status_code == 201, placed.text
    trade_id = placed.json()["id"]
    mine = get(ui_platform, c, "/trades/history")["trades"]
    realized = sum((Decimal(t["realized_pnl"]) for t in mine), Decimal(0))

    await as_admin(user, ui_platform)
    await user.open(f"/admin/client/{c.id}")
    await shows(user, "stat-open", "1")
    await shows(user, "stat-pnl", f"{realized:,.2f}")
    await shows(user, "stat-winrate", "—")
    rows = await rows_of(user, "positions")
    assert [r["id"] for r in rows] == [trade_id]
    ledger = await rows_of(user, "ledger")
    assert [r["amount"] for r in ledger] == ["1,000.00"]

    closed = ui_platform.api("POST", f"/trades/{trade_id}/close", c)
    assert closed.status_code == 200, closed.text
    pnl = Decimal(closed.json()["realized_pnl"])
    await user.open(f"/admin/client/{c.id}")
    await shows(user, "stat-open", "0")
    await shows(user, "stat-winrate", "100.0 %" if pnl > 0 else "0.0 %")
    await shows(user, "stat-closed", "1 (")
    await user.should_see(marker="curve", retries=100)


async def test_an_unknown_client_is_said_so(user: User, ui_platform: UiPlatform) -> None:
    await as_admin(user, ui_platform)
    await user.open("/admin/client/99999999")
    await shows(user, "error", "No client 99999999")


# -- global parameters -----------------------------------------------------------------


async def test_global_parameters_are_saved_and_refusals_shown_by_the_field(
    user: User, ui_platform: UiPlatform, admin: Account
) -> None:
    before = get(ui_platform, admin, "/admin/parameters")
    await as_admin(user, ui_platform)
    try:
        await user.open("/admin/settings")
        await user.should_see(marker="registration_open", retries=100)
        assert one(user, "fee_percent").value == before["fee_percent"]

        one(user, "registration_open").value = False
        user.find(marker="save").click()
        await see(user, "Global parameters saved")
        now = get(ui_platform, admin, "/admin/parameters")
        assert now == {**before, "registration_open": False}

        # an invalid value: the service's message under the field, nothing saved
        refused = ui_platform.api(
            "PUT", "/admin/parameters", admin, json={**now, "fee_percent": "60"}
        )
        assert refused.status_code == 422
        fee = one(user, "fee_percent")
        fee.value = "60"
        user.find(marker="save").click()
        await until(lambda: fee.error, "the fee field's error", timeout=10)
        assert f"fee_percent: {fee.error}" in refused.json()["detail"]
        assert get(ui_platform, admin, "/admin/parameters") == now
    finally:
        r = ui_platform.api("PUT", "/admin/parameters", admin, json=before)
        assert r.status_code == 200, r.text


# -- journal ---------------------------------------------------------------------------


async def test_the_journal_filters_by_action_and_client(
    user: User, ui_platform: UiPlatform, admin: Account
) -> None:
    c = ui_platform.new_client("journaled")
    for verb in ("block", "unblock"):
        r = ui_platform.api("POST", f"/admin/clients/{c.id}/{verb}", admin)
        assert r.status_code == 200, r.text
    await as_admin(user, ui_platform)
    await user.open("/admin/audit")
    await rows_of(user, "journal")

    user.find(marker="filter-action").click()
    user.find("client_unblocked").click()
    user.find(marker="apply").click()
    expected = get(ui_platform, admin, "/admin/journal", action="client_unblocked", limit=100)
    want = [e["id"] for e in expected["entries"]]
    assert want
    table = one(user, "journal")
    await until(lambda: [r["id"] for r in table.rows] == want, "the filtered rows", timeout=10)
    assert {r["action"] for r in table.rows} == {"client_unblocked"}

    # by client (its email), every action
    user.find(marker="filter-action").click()  # opens it; clear below
    one(user, "filter-action").value = None
    user.find(marker="filter-client").type(c.email)
    user.find(marker="apply").click()
    expected = get(ui_platform, admin, "/admin/journal", subject_id=c.id, limit=100)
    want = [e["id"] for e in expected["entries"]]
    await until(lambda: [r["id"] for r in table.rows] == want, "the filtered rows", timeout=10)
    assert {"register", "client_blocked", "client_unblocked"} <= {r["action"] for r in table.rows}

    # a bad date is said next to its field
    user.find(marker="since").type("yesterday")
    user.find(marker="apply").click()
    since = one(user, "since")
    await until(lambda: since.error, "the date field's error", timeout=10)
    assert "YYYY-MM-DD" in str(since.error)


# -- health ----------------------------------------------------------------------------


async def test_health_shows_the_connections_the_market_reports(
    user: User, ui_platform: UiPlatform
) -> None:
    health = httpx.get(f"{ui_platform.url}/health").json()
    conns = health["streams"]["connections"]
    assert conns
    await as_admin(user, ui_platform)
    await user.open("/admin/health")
    rows = await rows_of(user, "connections")
    assert [r["streams"] for r in rows] == [", ".join(c["streams"]) for c in conns]
    up = sum(1 for c in conns if c["connected"])
    await shows(user, "connections-up", f"{up} / {len(conns)}")
    await shows(user, "exchange", health["streams"]["exchange"])
    queues = await rows_of(user, "queues")
    assert {q["name"] for q in queues} == set(health["hub"])
