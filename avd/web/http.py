"""Request helpers shared by the REST services: bodies, queries, tokens, ids."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from avd.web.errors import ApiError

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2_147_483_647
MAX_BODY = 64 * 1024
MAX_DEPTH = 16  # our bodies nest three levels; deeper is refused before any recursion


async def _raw(request: Request) -> bytes:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "the request body is too large")
    if not raw.strip():
        raise ApiError(422, "a JSON body is required")
    if b"\\u0000" in raw or b"\x00" in raw:
        # PostgreSQL text cannot hold NUL, and no field of ours needs it
        raise ApiError(422, "NUL characters are not allowed")
    return raw


async def body(request: Request, model: type[M]) -> M:
    """The JSON body validated by ``model`` (422 on a bad body)."""
    return model.model_validate_json(await _raw(request))


async def whole_body(request: Request, model: type[M]) -> M:
    """The body of a PUT, which replaces every field: a missing one is a 422 naming it."""
    try:
        return await body(request, model)
    except ValidationError as exc:
        missing = [
            str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing" and len(e["loc"]) == 1
        ]
        if not missing:
            raise
        raise ApiError(
            422,
            f"PUT replaces every field; missing: {', '.join(missing)} "
            "(PATCH changes only the fields it is given)",
            missing=missing,
        ) from None


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return False


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (a merge patch); 422 when it is not one."""
    raw = await _raw(request)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(422, "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(422, "the body must be a JSON object")
    if _too_deep(value):
        raise ApiError(422, f"the body nests deeper than {MAX_DEPTH} levels")
    return value


def query(request: Request, model: type[M]) -> M:
    """The query string validated by ``model`` (repeated keys: the last one)."""
    params = dict(request.query_params)
    if any("\x00" in k or "\x00" in v for k, v in params.items()):
        raise ApiError(422, "NUL characters are not allowed")
    return model.model_validate(params)


def path_id(request: Request, name: str) -> int:
    """An integer path parameter that can be an id (404 otherwise)."""
    value = request.path_params[name]
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ApiError(404, f"no such {name.removesuffix('_id').replace('_', ' ')}")
    return value


def bearer(request: Request) -> str | None:
    """The bearer token of the ``Authorization`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def client_ip(request: Request) -> str | None:
    """The peer address (no proxy headers are trusted)."""
    return request.client.host if request.client else None


def reply(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """``model`` as JSON (decimals as strings, datetimes ISO 8601)."""
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)
