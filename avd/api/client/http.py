"""Request helpers shared by the REST services: bodies, queries, tokens, ids."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from avd.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2_147_483_647
MAX_BODY = 64 * 1024


async def body(request: Request, model: type[M]) -> M:
    """The JSON body validated by ``model`` (422 on a bad body)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "the request body is too large")
    if not raw.strip():
        raise ApiError(422, "a JSON body is required")
    if b"\\u0000" in raw or b"\x00" in raw:
        # PostgreSQL text cannot hold NUL, and no field of ours needs it
        raise ApiError(422, "NUL characters are not allowed")
    return model.model_validate_json(raw)


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
