"""``/client/*``: the account, deposits, funds, bot parameters, history, API keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.domain.parameters import BotParameters
from avd.services.client import schemas as m
from avd.services.client.routes.guards import PATCH_DOC, Guards
from avd.services.client.schemas import BotParametersPatch, BotParametersPut
from avd.services.client.service import ClientService, user_out
from avd.web.errors import error_response
from avd.web.http import body, client_ip, json_object, path_id, query, reply, whole_body
from avd.web.openapi import operation


def routes(service: ClientService) -> list[BaseRoute]:
    """The client's own routes, bound to ``service``."""
    svc = service
    client = Guards(svc).client

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
            # an answer, not a refusal: the deposit is recorded (and replayed on a retry)
            return error_response(
                402,
                "payment_failed",
                "the payment was declined; nothing was credited",
                headers,
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
        description=PATCH_DOC,
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

    return [
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
    ]
