"""The Client service's routes: ``/auth/*``, ``/client/*`` and ``/admin/*``.

:func:`routes` returns plain Starlette routes bound to one
:class:`~avd.services.client.service.ClientService`, so the all-in-one process can
serve them on its one port next to the other services.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.domain.parameters import BotParameters, GlobalParameters
from avd.services.client import schemas as m
from avd.services.client.schemas import (
    BotParametersPatch,
    BotParametersPut,
    GlobalParametersPatch,
    GlobalParametersPut,
)
from avd.services.client.service import ClientService, user_out
from avd.store.models import User
from avd.web.errors import ApiError
from avd.web.http import (
    bearer,
    body,
    client_ip,
    json_object,
    path_id,
    query,
    reply,
    whole_body,
)
from avd.web.openapi import operation

_PATCH_DOC = (
    "A JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`): "
    "only the fields given change, objects (`stops`) are merged field by field, arrays "
    "are replaced whole, `null` clears an optional setting. The result is validated as a "
    "whole: a 422 names what is wrong and nothing is saved. Decimals are strings."
)


def routes(service: ClientService) -> list[BaseRoute]:
    """Every route of the Client service, bound to ``service``."""
    svc = service

    async def client(request: Request) -> User:
        await svc.start()
        return await svc.authenticate(bearer(request), "client")

    async def admin(request: Request) -> User:
        await svc.start()
        return await svc.authenticate(bearer(request), "admin")

    async def anyone(request: Request) -> User:
        await svc.start()
        return await svc.authenticate(bearer(request), None)

    async def service_only(request: Request) -> None:
        await svc.start()
        await svc.authenticate_service(bearer(request))

    # --- /auth ------------------------------------------------------------------------

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

    # --- /client ----------------------------------------------------------------------

    @operation("The current account", response=m.User, security="bearer", tags=("client",))
    async def me(request: Request) -> Response:
        return reply(user_out(await client(request)))

    @operation(
        "Deposit prepaid funds (idempotent per key)",
        body=m.DepositRequest,
        response=m.Deposit,
        status=201,
        security="bearer",
        errors=(402, 409),
        extra_responses={202: ("Pending: credited once the payment settles", m.Deposit)},
        tags=("client",),
        description="`simulate` picks the payment simulator's outcome. A retry with the same "
        "`idempotency_key` replays the first answer and credits nothing.",
    )
    async def deposit(request: Request) -> Response:
        user = await client(request)
        dep, replayed = await svc.deposit(user.id, await body(request, m.DepositRequest))
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        if dep.status == "failed":
            raise ApiError(
                402,
                "the payment was declined; nothing was credited",
                error="payment_failed",
                headers=headers,
                deposit_id=dep.id,
            )
        return reply(dep, 202 if dep.status == "pending" else 201, headers)

    @operation("Prepaid balance and fee", response=m.Funds, security="bearer", tags=("client",))
    async def funds(request: Request) -> Response:
        user = await client(request)
        return reply(await svc.funds(user.id))

    @operation("The bot parameters", response=BotParameters, security="bearer", tags=("client",))
    async def get_parameters(request: Request) -> Response:
        user = await client(request)
        return reply(await svc.parameters(user.id))

    @operation(
        "Replace the bot parameters (every field)",
        body=BotParametersPut,
        response=BotParameters,
        security="bearer",
        errors=(409,),
        tags=("client",),
        description="PUT replaces the whole set: a missing field is a 422 that names it "
        "(`missing`), never reset to a default. To change some fields, use PATCH.",
    )
    async def put_parameters(request: Request) -> Response:
        user = await client(request)
        params = await whole_body(request, BotParametersPut)
        return reply(await svc.save_parameters(user.id, params))

    @operation(
        "Change some bot parameters (JSON merge patch)",
        body=BotParametersPatch,
        response=BotParameters,
        security="bearer",
        errors=(409,),
        tags=("client",),
        description=_PATCH_DOC,
    )
    async def patch_parameters(request: Request) -> Response:
        user = await client(request)
        patch = await json_object(request)
        return reply(await svc.patch_parameters(user.id, patch))

    @operation(
        "Operations: deposits, fees, refunds, adjustments, trades",
        query=m.Page,
        response=m.History,
        security="bearer",
        tags=("client",),
    )
    async def history(request: Request) -> Response:
        user = await client(request)
        page = query(request, m.Page)
        return reply(await svc.history(user.id, page.limit, page.offset))

    @operation(
        "Store a Binance API key pair (encrypted)",
        body=m.ApiKeyCreate,
        response=m.ApiKey,
        status=201,
        security="bearer",
        tags=("client",),
    )
    async def add_key(request: Request) -> Response:
        user = await client(request)
        req = await body(request, m.ApiKeyCreate)
        return reply(await svc.add_api_key(user.id, req, client_ip(request)), 201)

    @operation(
        "The stored key pairs (last four characters)",
        response=m.ApiKeys,
        security="bearer",
        tags=("client",),
    )
    async def list_keys(request: Request) -> Response:
        user = await client(request)
        return reply(await svc.api_keys(user.id))

    @operation("Delete a key pair", status=204, security="bearer", errors=(404,), tags=("client",))
    async def delete_key(request: Request) -> Response:
        user = await client(request)
        await svc.delete_api_key(user.id, path_id(request, "key_id"), client_ip(request))
        return Response(status_code=204)

    # --- /client/internal (service token) ---------------------------------------------

    @operation(
        "A client's balance (service-to-service)",
        query=m.BalanceQuery,
        response=m.InternalBalance,
        security="service",
        errors=(404,),
        tags=("internal",),
    )
    async def internal_balance(request: Request) -> Response:
        await service_only(request)
        q = query(request, m.BalanceQuery)
        return reply(await svc.internal_balance(q.client_id))

    @operation(
        "May this client open a new trade? (402 when the balance is exhausted)",
        body=m.TradeCheck,
        response=m.TradeAllowance,
        security="service",
        errors=(402, 404),
        tags=("internal",),
    )
    async def internal_trade_check(request: Request) -> Response:
        await service_only(request)
        req = await body(request, m.TradeCheck)
        return reply(await svc.check_trade(req.client_id))

    @operation(
        "Charge the platform fee on a closed trade (idempotent per trade_ref)",
        body=m.FeeCharge,
        response=m.FeeCharged,
        security="service",
        errors=(404,),
        tags=("internal",),
    )
    async def internal_fee(request: Request) -> Response:
        await service_only(request)
        return reply(await svc.charge_fee(await body(request, m.FeeCharge)))

    @operation(
        "Whose is this bearer token? (service-to-service)",
        body=m.WhoAmI,
        response=m.Principal,
        security="service",
        errors=(401, 403),
        tags=("internal",),
    )
    async def internal_whoami(request: Request) -> Response:
        await service_only(request)
        req = await body(request, m.WhoAmI)
        user = await svc.authenticate(req.token, req.role)
        return reply(m.Principal(id=user.id, role=user.role))

    @operation(
        "A client's bot parameters (service-to-service)",
        query=m.BalanceQuery,
        response=BotParameters,
        security="service",
        errors=(404,),
        tags=("internal",),
    )
    async def internal_parameters(request: Request) -> Response:
        await service_only(request)
        q = query(request, m.BalanceQuery)
        return reply(await svc.parameters(q.client_id))

    @operation(
        "Every client allowed to trade, with its bot parameters (service-to-service)",
        response=m.ClientBots,
        security="service",
        tags=("internal",),
    )
    async def internal_bots(request: Request) -> Response:
        await service_only(request)
        bots = await svc.bots()
        return reply(m.ClientBots(bots=[m.ClientBot(client_id=c, parameters=p) for c, p in bots]))

    @operation(
        "Decrypted exchange credentials for the signing path",
        body=m.SecretRequest,
        response=m.ExchangeCredentials,
        security="service",
        errors=(404,),
        tags=("internal",),
    )
    async def internal_credentials(request: Request) -> Response:
        await service_only(request)
        req = await body(request, m.SecretRequest)
        creds = await svc.credentials(req.client_id, req.key_id)
        return reply(creds, headers={"Cache-Control": "no-store"})

    # --- /admin -----------------------------------------------------------------------

    @operation(
        "List accounts", query=m.Page, response=m.ClientList, security="bearer", tags=("admin",)
    )
    async def list_clients(request: Request) -> Response:
        await admin(request)
        page = query(request, m.Page)
        return reply(await svc.list_clients(page.limit, page.offset))

    def _block(blocked: bool) -> Route:
        async def endpoint(request: Request) -> Response:
            who = await admin(request)
            raw = await request.body()
            req = m.BlockRequest.model_validate_json(raw) if raw.strip() else m.BlockRequest()
            cid = path_id(request, "client_id")
            return reply(await svc.set_blocked(who, cid, blocked, req.reason, client_ip(request)))

        name = "block" if blocked else "unblock"
        endpoint.__name__ = f"{name}_client"
        operation(
            f"{name.capitalize()} an account",
            body=m.BlockRequest,
            response=m.User,
            security="bearer",
            errors=(404, 409),
            tags=("admin",),
        )(endpoint)
        return Route(f"/admin/clients/{{client_id:int}}/{name}", endpoint, methods=["POST"])

    @operation(
        "Ledger adjustment or refund, with a reason",
        body=m.Adjustment,
        response=m.LedgerEntry,
        status=201,
        security="bearer",
        errors=(404, 409),
        tags=("admin",),
    )
    async def adjust(request: Request) -> Response:
        who = await admin(request)
        req = await body(request, m.Adjustment)
        cid = path_id(request, "client_id")
        return reply(await svc.adjust(who, cid, req, client_ip(request)), 201)

    @operation(
        "Settle a pending deposit",
        body=m.DepositSettlement,
        response=m.Deposit,
        security="bearer",
        errors=(404, 409),
        tags=("admin",),
    )
    async def settle(request: Request) -> Response:
        who = await admin(request)
        req = await body(request, m.DepositSettlement)
        did = path_id(request, "deposit_id")
        out = await svc.settle_deposit(who, did, req.outcome == "success", client_ip(request))
        return reply(out)

    @operation("Global parameters", response=GlobalParameters, security="bearer", tags=("admin",))
    async def get_global(request: Request) -> Response:
        await admin(request)
        return reply(await svc.global_parameters())

    @operation(
        "Replace the global parameters (every field)",
        body=GlobalParametersPut,
        response=GlobalParameters,
        security="bearer",
        tags=("admin",),
        description="A missing field is a 422 that names it; to change some fields, use PATCH.",
    )
    async def put_global(request: Request) -> Response:
        who = await admin(request)
        params = await whole_body(request, GlobalParametersPut)
        return reply(await svc.save_global_parameters(who, params, client_ip(request)))

    @operation(
        "Change some global parameters (JSON merge patch)",
        body=GlobalParametersPatch,
        response=GlobalParameters,
        security="bearer",
        tags=("admin",),
        description=_PATCH_DOC,
    )
    async def patch_global(request: Request) -> Response:
        who = await admin(request)
        patch = await json_object(request)
        return reply(await svc.patch_global_parameters(who, patch, client_ip(request)))

    @operation(
        "The journal (audit log), newest first",
        query=m.JournalQuery,
        response=m.Journal,
        security="bearer",
        tags=("admin",),
    )
    async def get_journal(request: Request) -> Response:
        await admin(request)
        q = query(request, m.JournalQuery)
        return reply(await svc.journal(q.limit, q.offset, q.action, q.subject_id))

    return [
        Route("/auth/register", register, methods=["POST"]),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/2fa/enroll", totp_enroll, methods=["POST"]),
        Route("/auth/2fa/qr.png", totp_qr, methods=["GET"]),
        Route("/auth/2fa/verify", totp_verify, methods=["POST"]),
        Route("/auth/2fa/disable", totp_disable, methods=["POST"]),
        Route("/auth/2fa/recovery-codes", recovery_codes, methods=["POST"]),
        Route("/client/me", me, methods=["GET"]),
        Route("/client/deposit", deposit, methods=["POST"]),
        Route("/client/funds", funds, methods=["GET"]),
        Route("/client/parameters", get_parameters, methods=["GET"]),
        Route("/client/parameters", put_parameters, methods=["PUT"]),
        Route("/client/parameters", patch_parameters, methods=["PATCH"]),
        Route("/client/history", history, methods=["GET"]),
        Route("/client/api-keys", add_key, methods=["POST"]),
        Route("/client/api-keys", list_keys, methods=["GET"]),
        Route("/client/api-keys/{key_id:int}", delete_key, methods=["DELETE"]),
        Route("/client/internal/balance", internal_balance, methods=["GET"]),
        Route("/client/internal/whoami", internal_whoami, methods=["POST"]),
        Route("/client/internal/parameters", internal_parameters, methods=["GET"]),
        Route("/client/internal/bots", internal_bots, methods=["GET"]),
        Route("/client/internal/trade-check", internal_trade_check, methods=["POST"]),
        Route("/client/internal/fees", internal_fee, methods=["POST"]),
        Route("/client/internal/credentials", internal_credentials, methods=["POST"]),
        Route("/admin/clients", list_clients, methods=["GET"]),
        _block(True),
        _block(False),
        Route("/admin/clients/{client_id:int}/adjustments", adjust, methods=["POST"]),
        Route("/admin/deposits/{deposit_id:int}/settle", settle, methods=["POST"]),
        Route("/admin/parameters", get_global, methods=["GET"]),
        Route("/admin/parameters", put_global, methods=["PUT"]),
        Route("/admin/parameters", patch_global, methods=["PATCH"]),
        Route("/admin/journal", get_journal, methods=["GET"]),
    ]
