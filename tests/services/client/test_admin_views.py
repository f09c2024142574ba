"""What the admin dashboard reads: clients by email, one client, its history, journal by date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.services.client.conftest import admin_auth, auth


def _id(api: TestClient, headers: dict[str, str]) -> int:
    return int(api.get("/client/me", headers=headers).json()["id"])


def test_clients_are_searched_by_a_part_of_their_email(api: TestClient) -> None:
    admin = admin_auth(api)
    auth(api, "zoe.smith@example.com")
    auth(api, "zed_jones@example.org")
    auth(api, "zedxjones@example.org")

    def emails(**params: str) -> list[str]:
        r = api.get("/admin/clients", headers=admin, params=params)
        assert r.status_code == 200, r.text
        return [c["email"] for c in r.json()["clients"]]

    assert emails(email="ZOE") == ["zoe.smith@example.com"]
    assert emails(email="example.org") == ["zed_jones@example.org", "zedxjones@example.org"]
    # LIKE's wildcards are taken literally
    assert emails(email="zed_") == ["zed_jones@example.org"]
    assert emails(email="%") == []
    assert len(emails()) == 4  # the admin too


def test_one_client_with_fees_paid_and_its_history(api: TestClient) -> None:
    admin = admin_auth(api)
    h = auth(api, "frank@example.com")
    cid = _id(api, h)
    r = api.post("/client/deposit", headers=h, json={"amount": "50", "idempotency_key": "k1"})
    assert r.status_code == 201
    r = api.post(
        f"/admin/clients/{cid}/adjustments",
        headers=admin,
        json={"amount": "-7.25", "reason": "goodwill reversed"},
    )
    assert r.status_code == 201

    r = api.get(f"/admin/clients/{cid}", headers=admin)
    assert r.status_code == 200, r.text
    one = r.json()
    assert (one["email"], one["balance"], one["fees_paid"]) == (
        "frank@example.com",
        "42.75",
        "0.00",
    )
    # the admin sees the history the client sees
    mine = api.get("/client/history", headers=h).json()["operations"]
    theirs = api.get(f"/admin/clients/{cid}/history", headers=admin).json()["operations"]
    assert theirs == mine
    assert [(o["type"], o["amount"]) for o in theirs] == [
        ("adjustment", "-7.25"),
        ("deposit", "50.00"),
    ]

    assert api.get("/admin/clients/999999", headers=admin).status_code == 404
    assert api.get("/admin/clients/999999/history", headers=admin).status_code == 404
    assert api.get(f"/admin/clients/{cid}", headers=h).status_code == 403
    assert api.get(f"/admin/clients/{cid}/history", headers=h).status_code == 403


def test_the_journal_is_filtered_by_date(api: TestClient) -> None:
    admin = admin_auth(api)
    cid = _id(api, auth(api, "gina@example.com"))
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert api.post(f"/admin/clients/{cid}/block", headers=admin).status_code == 200
    after = datetime.now(UTC) + timedelta(seconds=1)

    def actions(**params: str) -> list[str]:
        r = api.get("/admin/journal", headers=admin, params={"subject_id": str(cid), **params})
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["entries"]]

    assert "client_blocked" in actions(since=before.isoformat(), until=after.isoformat())
    assert actions(since=after.isoformat()) == []
    assert "client_blocked" not in actions(until=before.isoformat())
    # a date without its zone is ambiguous: refused
    r = api.get("/admin/journal", headers=admin, params={"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422
