"""Cross-account isolation, secrets kept out of responses, logs and the database
file, and injection strings in every text field."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from avd.services.client.settings import ClientSettings
from tests.services.client.conftest import PASSWORD, admin_auth, auth, service_headers

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def test_a_client_never_reaches_another_clients_data(api: TestClient) -> None:
    alice = auth(api, "alice@example.com")
    bob = auth(api, "bob@example.com")
    a_key = api.post(
        "/client/api-keys", headers=alice, json={"api_key": API_KEY, "api_secret": API_SECRET}
    ).json()
    api.post(
        "/client/deposit", headers=alice, json={"amount": "50", "idempotency_key": "shared-key"}
    )
    r = api.patch(
        "/client/parameters", headers=alice, json={"symbols": ["ETHUSDT"], "max_open_positions": 7}
    )
    assert r.status_code == 200, r.text

    # bob sees none of it
    assert api.get("/client/api-keys", headers=bob).json()["keys"] == []
    assert api.get("/client/funds", headers=bob).json()["balance"] == "0.00"
    assert api.get("/client/history", headers=bob).json()["operations"] == []
    assert api.get("/client/parameters", headers=bob).json()["symbols"] == ["BTCUSDT"]
    assert api.get("/client/me", headers=bob).json()["email"] == "bob@example.com"
    # and cannot change it: deleting alice's key is a 404, her key survives
    assert api.delete(f"/client/api-keys/{a_key['id']}", headers=bob).status_code == 404
    assert [k["id"] for k in api.get("/client/api-keys", headers=alice).json()["keys"]] == [
        a_key["id"]
    ]
    # the same idempotency key is per account: bob's deposit is his own
    r = api.post(
        "/client/deposit", headers=bob, json={"amount": "7", "idempotency_key": "shared-key"}
    )
    assert r.status_code == 201 and r.json()["balance"] == "7.00"
    assert api.get("/client/funds", headers=alice).json()["balance"] == "50.00"
    # bob's parameters do not touch alice's
    assert api.patch("/client/parameters", headers=bob, json={"symbols": ["SOLUSDT"]}).is_success
    assert api.get("/client/parameters", headers=alice).json()["symbols"] == ["ETHUSDT"]
    # no client route takes another account's id; the admin and internal ones refuse clients
    alice_id = api.get("/client/me", headers=alice).json()["id"]
    assert (
        api.post(
            f"/admin/clients/{alice_id}/adjustments",
            headers=bob,
            json={"amount": "-50", "reason": "x"},
        ).status_code
        == 403
    )
    assert api.post(f"/admin/clients/{alice_id}/block", headers=bob).status_code == 403
    assert api.get(f"/client/internal/balance?client_id={alice_id}", headers=bob).status_code == 403
    assert (
        api.post(
            "/client/internal/credentials", headers=bob, json={"client_id": alice_id}
        ).status_code
        == 403
    )
    assert (
        api.post(
            "/client/internal/fees",
            headers=bob,
            json={"client_id": alice_id, "trade_ref": "t", "symbol": "BTCUSDT", "notional": "100"},
        ).status_code
        == 403
    )
    assert api.get("/client/funds", headers=alice).json()["balance"] == "50.00"
    # deleting her own key works
    assert api.delete(f"/client/api-keys/{a_key['id']}", headers=alice).status_code == 204
    assert api.delete(f"/client/api-keys/{a_key['id']}", headers=alice).status_code == 404


def test_secrets_stay_out_of_responses_logs_and_the_database(
    api: TestClient, settings: ClientSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = auth(api, "keys@example.com")
    r = api.post(
        "/client/api-keys",
        headers=h,
        json={"label": "main", "api_key": API_KEY, "api_secret": API_SECRET},
    )
    assert r.status_code == 201
    assert (
        r.json()["api_key_last4"] == API_KEY[-4:]
        and r.json()["api_secret_last4"] == API_SECRET[-4:]
    )
    listed = api.get("/client/api-keys", headers=h)
    history = api.get("/client/history", headers=h)
    admin = admin_auth(api)
    journal = api.get("/admin/journal", headers=admin)
    clients = api.get("/admin/clients", headers=admin)
    for resp in (r, listed, history, journal, clients):
        assert API_KEY not in resp.text and API_SECRET not in resp.text
        assert API_KEY[:-4] not in resp.text and API_SECRET[:-4] not in resp.text
        assert PASSWORD not in resp.text and "argon2" not in resp.text
    # the trade engine's signing path gets it back
    cid = api.get("/client/me", headers=h).json()["id"]
    creds = api.post(
        "/client/internal/credentials", headers=service_headers(api), json={"client_id": cid}
    )
    assert creds.json()["api_secret"] == API_SECRET
    assert creds.headers["cache-control"] == "no-store"

    svc = api.app.state.client_service  # type: ignore[attr-defined]
    jwt_secret = (tmp_path / "jwt.secret").read_text().strip()
    fernet = (tmp_path / "fernet.keys").read_text().strip()
    signing = (tmp_path / "jwt-signing.keys").read_text().strip()
    logged = "\n".join(rec.getMessage() for rec in caplog.records) + caplog.text
    for secret in (API_KEY, API_SECRET, PASSWORD, jwt_secret, fernet, signing, svc._service_token):
        assert secret not in logged
    assert "keys@example.com" not in repr(svc)
    # the JWKS publishes public keys only
    assert signing not in api.get("/.well-known/jwks.json").text
    assert signing not in repr(svc.signing_keys) and signing not in repr(svc.tokens)

    # generated secrets are 0600
    for name in ("jwt.secret", "jwt-signing.keys", "fernet.keys", "service.token"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name

    if settings.resolved_database_url().startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("client.db*"))
        assert b"keys@example.com" in raw  # the file really is the database
        for secret in (API_KEY, API_SECRET, PASSWORD):
            assert secret.encode() not in raw
            assert secret[:-4].encode() not in raw


INJECTIONS = [
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "%00\u0000nul",
    "Robert'); DELETE FROM ledger_entries;--",
    "\u202eevil\ufeff",
    "a" * 5000,
]


def test_injection_strings_do_no_harm(api: TestClient) -> None:
    h = auth(api, "inj@example.com")
    admin = admin_auth(api)
    cid = api.get("/client/me", headers=h).json()["id"]
    victim = api.get("/client/me", headers=auth(api, "victim@example.com")).json()["id"]
    api.post("/client/deposit", headers=h, json={"amount": "10", "idempotency_key": "base"})
    for s in INJECTIONS:
        bodies = [
            ("POST", "/auth/register", None, {"email": s, "password": PASSWORD}),
            ("POST", "/auth/register", None, {"email": f"{s[:40]}@example.com", "password": s}),
            ("POST", "/auth/login", None, {"email": s, "password": s}),
            (
                "POST",
                "/auth/login",
                None,
                {"email": "inj@example.com", "password": PASSWORD, "totp": s[:16]},
            ),
            ("POST", "/auth/refresh", None, {"refresh_token": s}),
            ("POST", "/client/deposit", h, {"amount": s, "idempotency_key": "k"}),
            ("POST", "/client/deposit", h, {"amount": "1", "idempotency_key": s}),
            (
                "POST",
                "/client/api-keys",
                h,
                {"label": s, "api_key": API_KEY, "api_secret": API_SECRET},
            ),
            ("POST", "/client/api-keys", h, {"api_key": s, "api_secret": s}),
            ("PATCH", "/client/parameters", h, {"symbols": [s]}),
            ("PATCH", "/client/parameters", h, {"mode": s}),
            ("POST", f"/admin/clients/{cid}/adjustments", admin, {"amount": "1", "reason": s}),
            ("POST", f"/admin/clients/{victim}/block", admin, {"reason": s}),
            ("POST", f"/admin/clients/{victim}/unblock", admin, {"reason": s}),
        ]
        for method, path, headers, body in bodies:
            r = api.request(method, path, headers=headers, json=body)
            assert r.status_code < 500, (path, s, r.text)
            assert r.headers["content-type"].startswith("application/json")
        r = api.get("/admin/journal", headers=admin, params={"action": s[:64]})
        assert r.status_code == (422 if "\x00" in s else 200)
        r = api.get("/client/history", headers=h, params={"limit": s})
        assert r.status_code == 422
    # the tables are intact and the stored texts came back verbatim
    assert api.get("/client/funds", headers=h).status_code == 200
    labels = {k["label"] for k in api.get("/client/api-keys", headers=h).json()["keys"]}
    assert "'; DROP TABLE users; --" in labels and "<script>alert(1)</script>" in labels
    reasons = [
        e["detail"].get("reason")
        for e in api.get(
            "/admin/journal", headers=admin, params={"action": "ledger_adjustment", "limit": 500}
        ).json()["entries"]
    ]
    assert "Robert'); DELETE FROM ledger_entries;--" in reasons
    # adjustments of 1 on top of 10: all but the 5000-character reason and the NUL one
    assert api.get("/client/funds", headers=h).json()["balance"] == "18.00"
    # (the many login attempts above tripped the per-address rate limit, as they should)
    assert (
        api.post("/auth/login", json={"email": "inj@example.com", "password": PASSWORD}).status_code
        == 429
    )
    emails = {c["email"] for c in api.get("/admin/clients", headers=admin).json()["clients"]}
    assert {"inj@example.com", "victim@example.com", "root@avd.test"} <= emails
