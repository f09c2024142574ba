"""``/client/internal/*``: what the other services ask, with the service token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.domain.parameters import BotParameters
from avd.services.client import schemas as m
from avd.services.client.routes.guards import Guards
from avd.services.client.service import ClientService
from avd.web.http import body, query, reply
from avd.web.openapi import operation


def routes(service: ClientService) -> list[BaseRoute]:
    """The service-to-service routes, bound to ``service``."""
    svc = service
    service_only = Guards(svc).service_only

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

    return [
        Route("/client/internal/balance", internal_balance, methods=["GET"]),
        Route("/client/internal/whoami", internal_whoami, methods=["POST"]),
        Route("/client/internal/parameters", internal_parameters, methods=["GET"]),
        Route("/client/internal/bots", internal_bots, methods=["GET"]),
        Route("/client/internal/trade-check", internal_trade_check, methods=["POST"]),
        Route("/client/internal/fees", internal_fee, methods=["POST"]),
        Route("/client/internal/credentials", internal_credentials, methods=["POST"]),
    ]
