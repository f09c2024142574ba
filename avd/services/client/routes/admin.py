"""``/admin/*``: clients, blocking, adjustments, settlement, global parameters, journal."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from avd.domain.parameters import GlobalParameters
from avd.services.client import schemas as m
from avd.services.client.routes.guards import PATCH_DOC, Guards
from avd.services.client.schemas import GlobalParametersPatch, GlobalParametersPut
from avd.services.client.service import ClientService
from avd.web.http import body, client_ip, json_object, path_id, query, reply, whole_body
from avd.web.openapi import operation


def routes(service: ClientService) -> list[BaseRoute]:
    """The admin's routes, bound to ``service``."""
    svc = service
    admin = Guards(svc).admin

    @operation(
        "List accounts (by id; `email` keeps those whose address contains it)",
        query=m.ClientQuery,
        response=m.ClientList,
        security="bearer",
        tags=("admin",),
    )
    async def list_clients(request: Request) -> Response:
        await admin(request)
        page = query(request, m.ClientQuery)
        return reply(await svc.list_clients(page.limit, page.offset, page.email))

    @operation(
        "One account: balance and platform fees paid",
        response=m.ClientDetail,
        security="bearer",
        errors=(404,),
        tags=("admin",),
    )
    async def get_client(request: Request) -> Response:
        await admin(request)
        return reply(await svc.client(path_id(request, "client_id")))

    @operation(
        "One account's history: deposits, fees, refunds, adjustments, trades (newest first)",
        query=m.Page,
        response=m.History,
        security="bearer",
        errors=(404,),
        tags=("admin",),
    )
    async def client_history(request: Request) -> Response:
        await admin(request)
        cid = path_id(request, "client_id")
        page = query(request, m.Page)
        await svc.client(cid)  # 404 for an unknown account
        return reply(await svc.history(cid, page.limit, page.offset))

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
        description=PATCH_DOC,
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
        return reply(await svc.journal(q.limit, q.offset, q.action, q.subject_id, q.since, q.until))

    return [
        Route("/admin/clients", list_clients, methods=["GET"]),
        Route("/admin/clients/{client_id:int}", get_client, methods=["GET"]),
        Route("/admin/clients/{client_id:int}/history", client_history, methods=["GET"]),
        _block(True),
        _block(False),
        Route("/admin/clients/{client_id:int}/adjustments", adjust, methods=["POST"]),
        Route("/admin/deposits/{deposit_id:int}/settle", settle, methods=["POST"]),
        Route("/admin/parameters", get_global, methods=["GET"]),
        Route("/admin/parameters", put_global, methods=["PUT"]),
        Route("/admin/parameters", patch_global, methods=["PATCH"]),
        Route("/admin/journal", get_journal, methods=["GET"]),
    ]
