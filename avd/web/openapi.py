"""An OpenAPI 3.1 document built from route metadata and pydantic models.

Every AVD service describes its endpoints the same way: decorate the
endpoint function with :func:`operation` (summary, body, query and response
models, the security scheme), then serve :func:`openapi_route`. The document
is generated from the routes actually mounted, so it cannot drift from them::

    @operation("Current account", response=User, security="bearer", tags=("client",))
    async def me(request: Request) -> Response: ...

    routes = [Route("/client/me", me)]
    app = Starlette(routes=[*routes, openapi_route("AVD client", "1.0", lambda: routes)])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

F = TypeVar("F", bound=Callable[..., Any])
Security = Literal["bearer", "service"] | None

_ATTR = "__avd_openapi__"
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")
_REF = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "a stable machine code"},
        "detail": {"type": "string", "description": "a sentence for people"},
        "numbers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "a refusal's numbers (limits, amounts), as decimal strings",
        },
        "service": {"type": "string", "description": "503: the service that cannot be reached"},
    },
}
_ERROR_TEXT = {
    400: "Bad request",
    401: "Missing, invalid or expired token",
    402: "Prepaid balance exhausted or payment failed",
    403: "Authenticated, but not allowed (wrong role, blocked account)",
    404: "Not found",
    409: "Conflict with the current state",
    422: "The request does not validate",
    423: "Locked after repeated failures",
    429: "Rate-limited (see Retry-After)",
    502: "The exchange refused or failed unexpectedly",
    503: "Temporarily unavailable",
}


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one endpoint."""

    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media_type: str = "application/json"
    security: Security = None
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    extra_responses: Mapping[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    description: str | None = None


def operation(summary: str, **kwargs: Any) -> Callable[[F], F]:
    """Attach OpenAPI metadata to an endpoint function."""
    op = Operation(summary, **kwargs)

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, op)
        return fn

    return mark


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for r in routes:
        if isinstance(r, Mount):
            found += _walk(r.routes, prefix + r.path)
        elif isinstance(r, Route):
            found.append((prefix, r))
    return found


def _path_and_params(prefix: str, route: Route) -> tuple[str, list[dict[str, Any]]]:
    path = _CONVERTOR.sub(r"{\1}", prefix + route.path)
    params = []
    for name, conv in route.param_convertors.items():
        if isinstance(conv, IntegerConvertor):
            schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        elif isinstance(conv, FloatConvertor):
            schema = {"type": "number"}
        else:
            schema = {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return path, params


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        if "anyOf" in prop:  # Optional[X]: a query parameter is simply left out
            options = [p for p in prop["anyOf"] if p.get("type") != "null"]
            if len(options) == 1:
                merged = {k: v for k, v in prop.items() if k != "anyOf"}
                merged.update(options[0])
                prop = merged
        if prop.get("default", 0) is None:
            prop.pop("default")
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return out


def build_openapi(
    routes: Sequence[BaseRoute],
    *,
    title: str,
    version: str,
    description: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (endpoints without metadata are left out)."""
    marked: list[tuple[str, Route, Operation]] = []
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = []
    for prefix, route in _walk(routes):
        op = getattr(route.endpoint, _ATTR, None)
        if op is None:
            continue
        marked.append((prefix, route, op))
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
        models += [(mdl, "serialization") for _, mdl in op.extra_responses.values() if mdl]
    refs, defs = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA

    def ref(model: type[BaseModel], mode: Literal["validation", "serialization"]) -> Any:
        return refs[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for prefix, route, op in marked:
        path, params = _path_and_params(prefix, route)
        if op.query is not None:
            params += _query_params(op.query)
        doc: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{route.name}",
            "tags": list(op.tags),
        }
        if op.description:
            doc["description"] = op.description
        if params:
            doc["parameters"] = params
        if op.body is not None:
            doc["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body, "validation")}},
            }
        responses: dict[str, Any] = {}
        if op.response is not None:
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {op.media_type: {"schema": ref(op.response, "serialization")}},
            }
        elif op.media_type != "application/json":
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {op.media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            responses[str(op.status)] = {"description": op.summary}
        for status, (text, mdl) in op.extra_responses.items():
            content = {"application/json": {"schema": ref(mdl, "serialization")}} if mdl else None
            responses[str(status)] = {"description": text} | (
                {"content": content} if content else {}
            )
        errors = set(op.errors)
        if op.security is not None:
            errors |= {401, 403}
        if op.body is not None or op.query is not None or params:
            errors.add(422)
        for status in sorted(errors):
            responses.setdefault(
                str(status),
                {
                    "description": _ERROR_TEXT.get(status, "Error"),
                    "content": {
                        "application/json": {"schema": {"$ref": _REF.format(model="Error")}}
                    },
                },
            )
        doc["responses"] = responses
        if op.security is not None:
            doc["security"] = [{"serviceToken" if op.security == "service" else "bearerAuth": []}]
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = doc
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "serviceToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the service-to-service token",
                },
            },
        },
    }


def openapi_route(
    title: str,
    version: str,
    routes: Callable[[], Sequence[BaseRoute]],
    *,
    path: str = "/openapi.json",
    description: str | None = None,
) -> Route:
    """A ``GET /openapi.json`` route describing ``routes()`` (built once, on first call)."""
    cache: dict[str, Any] = {}

    async def openapi(_: Request) -> Response:
        if "doc" not in cache:
            cache["doc"] = build_openapi(
                routes(), title=title, version=version, description=description
            )
        return JSONResponse(cache["doc"])

    return Route(path, openapi, methods=["GET"], include_in_schema=False)
