"""Token tampering, expiry and alg=none; TOTP 2FA; lockout and rate limiting."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import jwt
import pyotp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from avd.services.client.app import create_app
from avd.services.client.settings import ClientSettings
from tests.services.client.conftest import PASSWORD, admin_auth, auth, make_settings


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def _sign(data_dir: Path, claims: dict[str, object]) -> str:
    """``claims`` signed with the service's own access-token key (from its data folder)."""
    seed = (data_dir / "jwt-signing.keys").read_text().split()[0]
    key = Ed25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4))
    )
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    # the kid is the key's RFC 7638 thumbprint
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64url(x)}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_tampered_expired_and_unsigned_tokens_are_refused(api: TestClient, tmp_path: Path) -> None:
    h = auth(api, "mallory@example.com")
    token = h["Authorization"].removeprefix("Bearer ")
    head, payload, sig = token.split(".")
    claims = _claims(token)

    def get(tok: str) -> int:
        return api.get("/client/me", headers={"Authorization": f"Bearer {tok}"}).status_code

    assert get(token) == 200
    # promote to admin without re-signing
    forged = _b64({**claims, "role": "admin"})
    assert get(f"{head}.{forged}.{sig}") == 401
    assert (
        api.get(
            "/admin/clients", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"}
        ).status_code
        == 401
    )
    # flip one character of the signature
    assert get(f"{head}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}") == 401
    # alg=none, with and without a trailing dot
    none_head = _b64({"alg": "none", "typ": "JWT"})
    assert get(f"{none_head}.{payload}.") == 401
    assert get(f"{none_head}.{_b64({**claims, 'role': 'admin'})}.") == 401
    # signed with another secret
    assert (
        get(jwt.encode(claims, "another-secret-another-secret-another-secret", algorithm="HS256"))
        == 401
    )
    # signed with the refresh tokens' HMAC secret: an access token is EdDSA only
    secret = (tmp_path / "jwt.secret").read_text().strip()
    assert get(jwt.encode(claims, secret, algorithm="HS256")) == 401
    # expired, but correctly signed with the service's own key
    expired = {**claims, "exp": int(time.time()) - 10, "iat": int(time.time()) - 100}
    r = api.get("/client/me", headers={"Authorization": f"Bearer {_sign(tmp_path, expired)}"})
    assert r.status_code == 401 and r.json()["detail"] == "the token has expired"
    # a refresh token is not an access token
    login = api.post(
        "/auth/login", json={"email": "mallory@example.com", "password": PASSWORD}
    ).json()
    assert get(login["refresh_token"]) == 401
    # and an access token is not a refresh token
    assert (
        api.post("/auth/refresh", json={"refresh_token": login["access_token"]}).status_code == 401
    )
    # a client token signed correctly but claiming admin: the role comes from the database
    promoted = {**claims, "role": "admin"}
    assert (
        api.get(
            "/admin/clients",
            headers={"Authorization": f"Bearer {_sign(tmp_path, promoted)}"},
        ).status_code
        == 403
    )
    # logout revokes
    assert api.post("/auth/logout", headers=h).status_code == 204
    assert get(token) == 401


def test_totp_enforced_once_switched_on(api: TestClient) -> None:
    h = auth(api, "frank@example.com")
    r = api.post("/auth/2fa/enroll", headers=h)
    assert r.status_code == 200
    uri = r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "issuer=AVD" in uri
    assert base64.b64decode(r.json()["qr_png_base64"])[:8] == b"\x89PNG\r\n\x1a\n"
    png = api.get("/auth/2fa/qr.png", headers=h)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    secret = pyotp.parse_uri(uri).secret

    # not on until verified: login still works without a code
    assert (
        api.post(
            "/auth/login", json={"email": "frank@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )
    assert (
        api.post(
            "/auth/2fa/verify",
            headers=h,
            json={"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"},
        ).status_code
        == 422
    )
    r = api.post("/auth/2fa/verify", headers=h, json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10

    login = {"email": "frank@example.com", "password": PASSWORD}
    r = api.post("/auth/login", json=login)
    assert r.status_code == 401 and r.json()["error"] == "totp_required"
    r = api.post("/auth/login", json={**login, "totp": "12345"})
    assert r.status_code == 401
    # the code used for verification cannot be replayed; the next time step's code works
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    r = api.post("/auth/login", json={**login, "totp": next_code})
    assert r.status_code == 200, r.text
    assert api.post("/auth/login", json={**login, "totp": next_code}).status_code == 401

    # recovery codes: each works once
    assert api.post("/auth/login", json={**login, "recovery_code": codes[0]}).status_code == 200
    assert api.post("/auth/login", json={**login, "recovery_code": codes[0]}).status_code == 401
    assert (
        api.post("/auth/login", json={**login, "recovery_code": codes[1].upper()}).status_code
        == 200
    )
    # wrong password with a valid recovery code is still refused, and the code is not spent
    assert (
        api.post(
            "/auth/login", json={**login, "password": "nope nope nope", "recovery_code": codes[2]}
        ).status_code
        == 401
    )
    assert api.post("/auth/login", json={**login, "recovery_code": codes[2]}).status_code == 200

    admin = admin_auth(api)
    actions = {e["action"] for e in api.get("/admin/journal", headers=admin).json()["entries"]}
    assert {"totp_enabled", "recovery_code_used", "login", "login_failed"} <= actions

    # switching it off needs the password and a code
    r = api.post("/auth/2fa/disable", headers=h, json={"password": PASSWORD, "code": "000000"})
    assert r.status_code in (422, 401)
    r = api.post("/auth/2fa/disable", headers=h, json={"password": PASSWORD, "code": codes[3]})
    assert r.status_code == 204
    assert api.post("/auth/login", json=login).status_code == 200


def test_lockout_after_repeated_failures(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path, database_url, login={"max_failures": 3, "lockout_seconds": 600}
    )
    with TestClient(create_app(settings)) as api:
        auth(api, "grace@example.com")
        bad = {"email": "grace@example.com", "password": "not the password"}
        assert api.post("/auth/login", json=bad).status_code == 401
        assert api.post("/auth/login", json=bad).status_code == 401
        r = api.post("/auth/login", json=bad)
        assert r.status_code == 423 and r.json()["error"] == "locked"
        assert int(r.headers["retry-after"]) == 600
        # even the right password is refused while locked
        r = api.post("/auth/login", json={"email": "grace@example.com", "password": PASSWORD})
        assert r.status_code == 423 and 590 <= int(r.headers["retry-after"]) <= 600
        # another account is not affected
        auth(api, "heidi@example.com")


def test_login_rate_limited_per_address(tmp_path: Path, database_url: str) -> None:
    settings: ClientSettings = make_settings(
        tmp_path, database_url, login={"rate_limit": 4, "rate_window_seconds": 60}
    )
    with TestClient(create_app(settings)) as api:
        body = {"email": "ivan@example.com", "password": "whatever password"}
        codes = [api.post("/auth/login", json=body).status_code for _ in range(6)]
        assert codes[:4] == [401] * 4
        assert codes[4:] == [429, 429]
        r = api.post("/auth/login", json=body)
        assert r.json()["error"] == "too_many_requests"
        assert 1 <= int(r.headers["retry-after"]) <= 60
