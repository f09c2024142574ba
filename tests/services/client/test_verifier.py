"""The Client service's access tokens, verified by the other services themselves.

A real Client service on a loopback port publishes its public keys; the
verifier of :mod:`avd.web.tokens` (what the trade service's REST adapter
uses) checks tokens with them, asks the Client service about revocation when
it can, and keeps verifying signatures when it cannot.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette

from avd.domain.errors import Forbidden, Unauthorized, Unavailable
from avd.domain.gateways import Principal
from avd.net import free_port
from avd.services.client.app import create_app
from avd.services.client.auth.signing import SigningKeys
from avd.services.client.service import ClientService
from avd.services.client.settings import ClientSettings
from avd.services.trade.remote import RestClientGateway
from avd.web.server import Server, config
from avd.web.tokens import TokenVerifier
from tests.polling import until
from tests.services.client.conftest import PASSWORD, make_settings

DEADLINE_S = 30


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port, until the block ends."""
    port = free_port()
    server = Server(config(app, "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), "the server to start", timeout=DEADLINE_S)
    assert not task.done(), "the server stopped while starting"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _client(url: str, email: str) -> tuple[int, str]:
    """Register and log in: the client's id and access token."""
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        client_id = r.json()["id"]
        r = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return client_id, r.json()["access_token"]


def _service(settings: ClientSettings) -> tuple[ClientService, Starlette]:
    svc = ClientService(settings)
    return svc, create_app(settings, service=svc)


def test_tokens_verify_offline_when_the_client_service_stops(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)

    async def run() -> None:
        clock = Clock()
        svc, app = _service(settings)
        token = svc._service_token
        async with serving(app) as url:
            cid, access = await _client(url, "offline@example.com")
            verifier = TokenVerifier.connect(url, token, clock=clock)
            gateway = RestClientGateway(url, token)
            assert await verifier.verify(access, "client") == Principal(cid, "client")
            assert await gateway.authenticate(access, "client") == Principal(cid, "client")
        # the Client service is stopped: nothing answers on its port any more
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.get(f"{url}/openapi.json")
        # past every cache: the verifier tries the service, gets no answer, trusts the signature
        clock.now += 3_600
        assert await verifier.verify(access, "client") == Principal(cid, "client")
        assert await gateway.authenticate(access, "client") == Principal(cid, "client")
        # and still checks what the signature says: the role, the expiry, the key
        with pytest.raises(Forbidden):
            await verifier.verify(access, "admin")
        with pytest.raises(Unauthorized):
            await verifier.verify(access[:-4] + ("AAAA" if access[-4:] != "AAAA" else "BBBB"), None)
        # a verifier that never saw the keys cannot verify anything
        fresh = TokenVerifier.connect(url, token)
        with pytest.raises(Unavailable) as down:
            await fresh.verify(access, "client")
        assert down.value.service == "client"
        for closable in (verifier, fresh):
            await closable.aclose()
        await gateway.aclose()

    asyncio.run(run())


def test_a_blocked_clients_token_is_refused_once_the_revocation_check_sees_it(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)

    async def run() -> None:
        clock = Clock()
        svc, app = _service(settings)
        async with serving(app) as url:
            cid, access = await _client(url, "blocked@example.com")
            await svc.create_user("root@example.com", PASSWORD, "admin")
            verifier = TokenVerifier.connect(
                url, svc._service_token, revocation_ttl_s=5, clock=clock
            )
            assert await verifier.verify(access, "client") == Principal(cid, "client")
            async with httpx.AsyncClient(base_url=url) as http:
                r = await http.post(
                    "/auth/login", json={"email": "root@example.com", "password": PASSWORD}
                )
                admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
                r = await http.post(f"/admin/clients/{cid}/block", headers=admin)
                assert r.status_code == 200 and r.json()["blocked"] is True
            # the answer about this token is reused for a few seconds...
            clock.now += 4
            assert await verifier.verify(access, "client") == Principal(cid, "client")
            # ...then the Client service is asked again and says no
            clock.now += 2
            with pytest.raises(Unauthorized) as refused:
                await verifier.verify(access, "client")
            assert refused.value.detail == "the token has been revoked"
            # without the revocation check, only the expiry would cut it
            signature_only = TokenVerifier.connect(url)
            assert not signature_only.check_revocation
            assert await signature_only.verify(access, "client") == Principal(cid, "client")
            await verifier.aclose()
            await signature_only.aclose()

    asyncio.run(run())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def test_forged_tokens_are_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'client.db'}")

    async def run() -> None:
        svc, app = _service(settings)
        async with serving(app) as url:
            cid, access = await _client(url, "mallory@example.com")
            verifier = TokenVerifier.connect(url, svc._service_token)
            assert await verifier.verify(access, "client") == Principal(cid, "client")
            claims = jwt.decode(access, options={"verify_signature": False})
            kid = jwt.get_unverified_header(access)["kid"]
            admin_claims = {**claims, "role": "admin"}
            public = svc.signing_keys.public(kid)
            assert public is not None
            raw_public = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            pem_public = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            head = _b64(b'{"alg":"none","typ":"JWT","kid":"' + kid.encode() + b'"}')
            forged = {
                "another key, same kid": jwt.encode(
                    admin_claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": kid}
                ),
                "alg none": f"{head}.{_b64(_json(admin_claims).encode())}.",
                "HS256 with the raw public key": _hs256(admin_claims, raw_public, kid),
                "HS256 with the PEM public key": _hs256(admin_claims, pem_public, kid),
                "payload swapped": ".".join(
                    [
                        access.split(".")[0],
                        _b64(_json(admin_claims).encode()),
                        access.split(".")[2],
                    ]
                ),
                "unknown kid": jwt.encode(
                    claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "nope"}
                ),
                "not a JWT": "not-a-token",
            }
            for what, token in forged.items():
                for role in ("admin", "client", None):
                    with pytest.raises(Unauthorized):
                        await verifier.verify(token, role)
                        pytest.fail(f"accepted: {what}")
            # a refresh token is not an access token
            async with httpx.AsyncClient(base_url=url) as http:
                pair = (
                    await http.post(
                        "/auth/login",
                        json={"email": "mallory@example.com", "password": PASSWORD},
                    )
                ).json()
            with pytest.raises(Unauthorized):
                await verifier.verify(pair["refresh_token"], "client")
            with pytest.raises(Unauthorized):
                await verifier.verify(None, "client")
            # the service token is not a user token either
            with pytest.raises(Unauthorized):
                await verifier.verify(svc._service_token, "client")
            await verifier.aclose()

    asyncio.run(run())


def _hs256(claims: dict[str, object], key: bytes, kid: str) -> str:
    """An HS256 token keyed with ``key`` (PyJWT refuses a PEM as an HMAC key: sign by hand)."""
    head = _b64(_json({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(_json(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def test_a_rotated_key_is_fetched_and_the_previous_one_still_verifies(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'client.db'}")

    async def run() -> None:
        clock = Clock()
        svc, app = _service(settings)
        async with serving(app) as url:
            cid, before = await _client(url, "rotation@example.com")
            verifier = TokenVerifier.connect(url, svc._service_token, clock=clock)
            assert await verifier.verify(before, "client") == Principal(cid, "client")
        old_kid = jwt.get_unverified_header(before)["kid"]
        rotated = SigningKeys.rotate_file(tmp_path / "jwt-signing.keys")
        kids = [k["kid"] for k in rotated.jwks()["keys"]]
        assert len(kids) == 2 and kids[1] == old_kid
        # the Client service restarts with the new key (same port: the verifier's URL)
        _, app2 = _service(settings)
        port = int(url.rsplit(":", 1)[1])
        server = Server(config(app2, "127.0.0.1", port))
        task = asyncio.create_task(server.serve())
        await until(
            lambda: server.started or task.done(), "the server to start again", timeout=DEADLINE_S
        )
        assert not task.done(), "the server stopped while starting"
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                r = await http.post(
                    "/auth/login", json={"email": "rotation@example.com", "password": PASSWORD}
                )
                after = r.json()["access_token"]
                jwks = (await http.get("/.well-known/jwks.json")).json()
            assert [k["kid"] for k in jwks["keys"]] == kids
            assert jwt.get_unverified_header(after)["kid"] == kids[0]
            # an unknown kid makes the verifier fetch the keys again (not more often than allowed)
            clock.now += verifier.refetch_after_s
            assert await verifier.verify(after, "client") == Principal(cid, "client")
            # the token signed before the rotation still verifies
            clock.now += 10
            assert await verifier.verify(before, "client") == Principal(cid, "client")
        finally:
            server.should_exit = True
            await task
            await verifier.aclose()

    asyncio.run(run())
