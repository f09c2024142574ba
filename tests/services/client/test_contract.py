"""The contract other parts rely on (issue 5, section 6)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from tests.services.client.conftest import PASSWORD, admin_auth, auth, service_headers
from tests.web.canonical import number_types


def test_register_login_refresh(api: TestClient) -> None:
    r = api.post("/auth/register", json={"email": "Alice@Example.com", "password": PASSWORD})
    assert r.status_code == 201
    assert r.json()["email"] == "alice@example.com"
    assert r.json()["role"] == "client"
    assert "password" not in r.text and "hash" not in r.text

    assert (
        api.post(
            "/auth/register", json={"email": "alice@example.com", "password": PASSWORD}
        ).status_code
        == 409
    )

    r = api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 200
    pair = r.json()
    assert pair["token_type"] == "bearer"
    assert set(pair) >= {"access_token", "refresh_token", "token_type"}

    me = api.get("/client/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "alice@example.com"

    r = api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    renewed = r.json()
    assert (
        api.get(
            "/client/me", headers={"Authorization": f"Bearer {renewed['access_token']}"}
        ).status_code
        == 200
    )
    # a refresh token is used up; presenting it again ends every session
    assert (
        api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    )
    assert (
        api.post("/auth/refresh", json={"refresh_token": renewed["refresh_token"]}).status_code
        == 401
    )


def test_bad_credentials_and_validation(api: TestClient) -> None:
    auth(api, "bob@example.com")
    r = api.post("/auth/login", json={"email": "bob@example.com", "password": "wrong password"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = api.post("/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert r.status_code == 401
    assert (
        api.post("/auth/register", json={"email": "not-an-email", "password": PASSWORD}).status_code
        == 422
    )
    assert (
        api.post("/auth/register", json={"email": "c@example.com", "password": "short"}).status_code
        == 422
    )
    assert api.post("/auth/register", content=b"{not json").status_code == 422
    assert (
        api.post(
            "/auth/register", json={"email": "c@example.com", "password": PASSWORD, "role": "admin"}
        ).status_code
        == 422
    )
    body = api.post("/auth/register", json={}).json()
    assert set(body) == {"error", "detail"} and body["error"] == "invalid_request"


def test_missing_and_bad_tokens_get_401(api: TestClient) -> None:
    for path in (
        "/client/me",
        "/client/funds",
        "/client/history",
        "/client/api-keys",
        "/admin/clients",
    ):
        r = api.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
        assert api.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
        assert api.get(path, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_roles_get_403(api: TestClient) -> None:
    client = auth(api, "carol@example.com")
    admin = admin_auth(api)
    for method, path in [
        ("GET", "/admin/clients"),
        ("GET", "/admin/journal"),
        ("GET", "/admin/parameters"),
        ("PUT", "/admin/parameters"),
        ("POST", "/admin/clients/1/block"),
        ("POST", "/admin/clients/1/adjustments"),
    ]:
        assert api.request(method, path, headers=client, json={}).status_code == 403, path
    assert api.get("/client/me", headers=admin).status_code == 403
    assert api.get("/admin/clients", headers=admin).status_code == 200
    # service-to-service routes: the service token only
    assert api.get("/client/internal/balance?client_id=1").status_code == 401
    assert api.get("/client/internal/balance?client_id=1", headers=client).status_code == 403
    assert api.get("/client/internal/balance?client_id=1", headers=admin).status_code == 403
    r = api.get("/client/internal/balance?client_id=1", headers=service_headers(api))
    assert r.status_code == 200 and r.json()["balance"] == "0.00"
    # and the service token is not a user token
    assert api.get("/client/me", headers=service_headers(api)).status_code == 403


def test_amounts_are_decimal_strings(api: TestClient) -> None:
    h = auth(api, "dave@example.com")
    r = api.post("/client/deposit", headers=h, json={"amount": 100.5, "idempotency_key": "a"})
    assert r.status_code == 422
    r = api.post("/client/deposit", headers=h, json={"amount": 100, "idempotency_key": "a"})
    assert r.status_code == 422
    for bad in ("1e3", "abc", "-5", "0", "1.123456789", "NaN", "Infinity", ""):
        r = api.post("/client/deposit", headers=h, json={"amount": bad, "idempotency_key": "a"})
        assert r.status_code == 422, bad
    r = api.post("/client/deposit", headers=h, json={"amount": "100.50", "idempotency_key": "a"})
    assert r.status_code == 201
    assert r.json()["amount"] == "100.50" and r.json()["balance"] == "100.50"
    funds = api.get("/client/funds", headers=h).json()
    assert funds["balance"] == "100.50" and funds["currency"] == "USDT"


def test_blocked_client_is_shut_out(api: TestClient) -> None:
    h = auth(api, "erin@example.com")
    admin = admin_auth(api)
    me = api.get("/client/me", headers=h).json()
    r = api.post(f"/admin/clients/{me['id']}/block", headers=admin, json={"reason": "chargeback"})
    assert r.status_code == 200 and r.json()["blocked"] is True
    assert api.get("/client/me", headers=h).status_code == 401  # tokens revoked
    r = api.post("/auth/login", json={"email": "erin@example.com", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"] == "account_blocked"
    r = api.post(
        "/client/internal/trade-check", headers=service_headers(api), json={"client_id": me["id"]}
    )
    assert r.status_code == 403
    assert api.post(f"/admin/clients/{me['id']}/unblock", headers=admin).status_code == 200
    assert (
        api.post(
            "/auth/login", json={"email": "erin@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )
    actions = [e["action"] for e in api.get("/admin/journal", headers=admin).json()["entries"]]
    assert "client_blocked" in actions and "client_unblocked" in actions
    assert api.post("/admin/clients/999999/block", headers=admin).status_code == 404


def test_openapi_document(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for p in (
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/client/me",
        "/client/deposit",
        "/client/funds",
        "/client/parameters",
        "/client/history",
        "/client/api-keys",
        "/client/api-keys/{key_id}",
        "/client/internal/balance",
        "/admin/clients",
        "/admin/journal",
        "/admin/parameters",
        "/.well-known/jwks.json",
    ):
        assert p in paths, p
    jwks = paths["/.well-known/jwks.json"]["get"]
    assert "security" not in jwks  # public: anyone may verify a token
    schema = jwks["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Jwks"}
    assert paths["/auth/register"]["post"]["responses"]["201"]
    assert set(paths["/client/parameters"]) == {"get", "put", "patch"}
    assert set(paths["/admin/parameters"]) == {"get", "put", "patch"}
    amount = doc["components"]["schemas"]["DepositRequest"]["properties"]["amount"]
    assert amount["type"] == "string"
    # decimals are strings in and out: no request or response allows a JSON number
    assert number_types(doc) == []
    fee = doc["components"]["schemas"]["Funds"]["properties"]["fee_percent"]
    assert fee["type"] == "string"


def test_jwks_publishes_the_key_that_signs_access_tokens(api: TestClient, tmp_path: Path) -> None:
    r = api.get("/.well-known/jwks.json")
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    (key,) = r.json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private part ("d")
    # x is the public half of the seed in the data folder; kid its RFC 7638 thumbprint
    seed = (tmp_path / "jwt-signing.keys").read_text().split()[0]
    private = Ed25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))
    )
    x = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key["x"] == base64.urlsafe_b64encode(x).rstrip(b"=").decode()
    thumb = hashlib.sha256(('{"crv":"Ed25519","kty":"OKP","x":"' + key["x"] + '"}').encode())
    assert key["kid"] == base64.urlsafe_b64encode(thumb.digest()).rstrip(b"=").decode()
    # an access token names that key and verifies with the published half alone
    token = auth(api, "jwks@example.com")["Authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key["kid"], "typ": "JWT"}
    public = jwt.PyJWK(key).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], issuer="avd")
    assert (claims["typ"], claims["role"]) == ("access", "client")
