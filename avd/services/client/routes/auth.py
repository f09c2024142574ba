"""``/auth/*`` (register, login, refresh, logout, 2FA) and ``/.well-known/jwks.json``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.services.client import schemas as m
from avd.services.client.routes.guards import Guards
from avd.services.client.service import ClientService
from avd.web.http import body, client_ip, reply
from avd.web.openapi import operation
from avd.web.tokens import JWKS_PATH

#: how long others may cache the public keys (a new ``kid`` makes them fetch again)
JWKS_MAX_AGE_S = 300


def routes(service: ClientService) -> list[BaseRoute]:
    """The authentication routes, bound to ``service``."""
    svc = service
    anyone = Guards(svc).anyone

    @operation(
        "The public keys that verify access tokens (JSON Web Key Set)",
        response=m.Jwks,
        tags=("auth",),
        description="Ed25519 keys (`kty` OKP, `alg` EdDSA), newest first; a token names its key "
        "in its header's `kid`. After a rotation the previous key is listed too, until the "
        "tokens it signed have expired. Other services cache this and fetch it again when "
        "they meet an unknown `kid`.",
    )
    async def jwks(request: Request) -> Response:
        return reply(
            m.Jwks.model_validate(svc.jwks()),
            headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"},
        )

    @operation(
        "Register a client account",
        body=m.RegisterRequest,
        response=m.User,
        status=201,
        errors=(403, 409),
        tags=("auth",),
    )
    async def register(request: Request) -> Response:
        await svc.start()
        req = await body(request, m.RegisterRequest)
        return reply(await svc.register(req, client_ip(request)), 201)

    @operation(
        "Whether registration is open (no token needed)",
        response=m.Registration,
        tags=("auth",),
        description="The global parameter `registration_open`, for a login page to decide "
        "whether to offer registration.",
    )
    async def registration(request: Request) -> Response:
        await svc.start()
        return reply(m.Registration(open=(await svc.global_parameters()).registration_open))

    @operation(
        "Log in: access and refresh tokens",
        body=m.LoginRequest,
        response=m.TokenPair,
        errors=(401, 403, 423, 429),
        tags=("auth",),
        description="Once 2FA is on, give `totp` (or a one-time `recovery_code`).",
    )
    async def login(request: Request) -> Response:
        await svc.start()
        req = await body(request, m.LoginRequest)
        return reply(await svc.login(req, client_ip(request)))

    @operation(
        "Exchange a refresh token for a new pair",
        body=m.RefreshRequest,
        response=m.TokenPair,
        errors=(401, 403),
        tags=("auth",),
    )
    async def refresh(request: Request) -> Response:
        await svc.start()
        return reply(await svc.refresh(await body(request, m.RefreshRequest)))

    @operation("Revoke every token of the account", status=204, security="bearer", tags=("auth",))
    async def logout(request: Request) -> Response:
        await svc.logout(await anyone(request))
        return Response(status_code=204)

    @operation(
        "Start 2FA enrolment (otpauth URI and QR code)",
        response=m.TotpEnrollment,
        security="bearer",
        errors=(409,),
        tags=("auth",),
    )
    async def totp_enroll(request: Request) -> Response:
        user = await anyone(request)
        return reply(await svc.totp_enroll(user, client_ip(request)))

    @operation(
        "QR code (PNG) of the pending 2FA enrolment",
        media_type="image/png",
        security="bearer",
        errors=(404,),
        tags=("auth",),
    )
    async def totp_qr(request: Request) -> Response:
        png = await svc.totp_qr(await anyone(request))
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @operation(
        "Switch 2FA on with a first code; returns one-time recovery codes",
        body=m.TotpCode,
        response=m.RecoveryCodes,
        security="bearer",
        errors=(409,),
        tags=("auth",),
    )
    async def totp_verify(request: Request) -> Response:
        user = await anyone(request)
        req = await body(request, m.TotpCode)
        return reply(await svc.totp_verify(user, req.code, client_ip(request)))

    @operation(
        "Switch 2FA off",
        body=m.TotpDisable,
        status=204,
        security="bearer",
        errors=(409,),
        tags=("auth",),
    )
    async def totp_disable(request: Request) -> Response:
        user = await anyone(request)
        await svc.totp_disable(user, await body(request, m.TotpDisable), client_ip(request))
        return Response(status_code=204)

    @operation(
        "Replace the recovery codes",
        response=m.RecoveryCodes,
        security="bearer",
        errors=(409,),
        tags=("auth",),
    )
    async def recovery_codes(request: Request) -> Response:
        user = await anyone(request)
        return reply(await svc.new_recovery_codes(user, client_ip(request)))

    return [
        Route(JWKS_PATH, jwks, methods=["GET"]),
        Route("/auth/register", register, methods=["POST"]),
        Route("/auth/registration", registration, methods=["GET"]),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/2fa/enroll", totp_enroll, methods=["POST"]),
        Route("/auth/2fa/qr.png", totp_qr, methods=["GET"]),
        Route("/auth/2fa/verify", totp_verify, methods=["POST"]),
        Route("/auth/2fa/disable", totp_disable, methods=["POST"]),
        Route("/auth/2fa/recovery-codes", recovery_codes, methods=["POST"]),
    ]
