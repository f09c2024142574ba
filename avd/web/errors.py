"""One error shape for every REST service: ``{"error": ..., "detail": ...}``.

A service raises the refusals of :mod:`avd.domain.errors` (or lets a
validation error escape); :data:`EXCEPTION_HANDLERS` turns them into JSON
with the status of :data:`STATUS_OF`: ``{"error": rule, "detail": sentence,
"numbers": {...}}`` (``numbers`` only when the refusal carries some), with
``Retry-After`` on a 429 or 423 and ``WWW-Authenticate: Bearer`` on a 401.
:class:`ApiError` is left for what only HTTP knows (a body too large).
``error`` is a stable machine code (``"not_found"``, ``"invalid_request"``),
``detail`` a sentence for people. A service's refusal (:mod:`avd.domain.errors`)
also carries ``numbers`` (the numbers behind the rule, ``{}`` when none) and,
for a 503, the ``service`` that cannot be reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from avd.domain import errors as e
from avd.exceptions import AvdError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    423: "locked",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


#: the one table from a service's refusal to an HTTP status
STATUS_OF: dict[type[e.Refusal], int] = {
    e.InvalidRequest: 422,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.PaymentRequired: 402,
    e.Locked: 423,
    e.TooManyRequests: 429,
    e.UpstreamFailed: 502,
    e.Unavailable: 503,
}
_REFUSAL_OF = {status: kind for kind, status in STATUS_OF.items()}


def status_of(refusal: e.Refusal) -> int:
    """The HTTP status of a refusal (its class, or the nearest base class, in the table)."""
    for kind in type(refusal).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def refusal_from(status: int, error: str, detail: str, **numbers: str) -> e.Refusal:
    """The refusal another service answered with ``status`` (the table read backwards)."""
    kind = _REFUSAL_OF.get(status, e.InvalidRequest if 400 <= status < 500 else e.Unavailable)
    return kind(error, detail, **numbers)


class ApiError(Exception):
    """An error answered to the client as ``{"error", "detail"}`` with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error or _CODES.get(status, "error")
        self.detail = detail
        self.headers = headers
        self.extra = extra


def error_response(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The JSON error response."""
    return JSONResponse(
        {"error": error, "detail": detail, **extra}, status_code=status, headers=headers
    )


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.detail, exc.headers, **exc.extra)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail), exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()
    )
    return error_response(422, "invalid_request", problems)


def refusal_headers(refusal: e.Refusal) -> dict[str, str] | None:
    """The headers HTTP asks for with a refusal: when to retry, how to authenticate."""
    if isinstance(refusal, e.TooManyRequests | e.Locked):
        return {"Retry-After": str(max(1, refusal.retry_after_s))}
    if isinstance(refusal, e.Unauthorized):
        return {"WWW-Authenticate": "Bearer"}  # RFC 6750: a 401 names the scheme
    return None


async def _refusal(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.Refusal)
    status = status_of(exc)
    headers = refusal_headers(exc)
    # always there (empty when the rule has none): a client reads one shape
    extra: dict[str, Any] = {"numbers": exc.numbers}
    if isinstance(exc, e.Unavailable) and exc.service:
        extra["service"] = exc.service
    return error_response(status, exc.rule, exc.detail, headers, **extra)


async def _avd_error(_: Request, exc: Exception) -> Response:
    return error_response(400, "bad_request", str(exc))


async def _unexpected(_: Request, exc: Exception) -> Response:
    # never leak internals (or secrets) in a 500
    return error_response(500, "internal_error", "an unexpected error occurred; see the server log")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    e.Refusal: _refusal,
    HTTPException: _http_error,
    ValidationError: _validation_error,
    AvdError: _avd_error,
    Exception: _unexpected,
}
