"""RFC 9457 problem details: every error of every layer becomes one, in this one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from edge.domain.errors import (
    ApprovalRequired,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from edge.store.errors import StoreError

log = logging.getLogger("fynlo.edge")

PROBLEM_TYPE = "urn:fynlo:problem:"
MEDIA_TYPE = "application/problem+json"

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    IllegalTransition: 409,
    Conflict: 409,
    ApprovalRequired: 403,
    PermissionDenied: 403,
}
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
}


class ApiError(Exception):
    """An HTTP-level refusal raised by the app layer (auth, lockout, pairing)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers or {}


def problem(
    status: int,
    code: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem-details response with a stable ``type`` of ``urn:fynlo:problem:<code>``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = next((s for cls, s in _DOMAIN_STATUS.items() if isinstance(exc, cls)), 422)
    context = {k: v for k, v in exc.context.items() if isinstance(v, str | int | list | None)}
    return problem(status, exc.code, exc.detail, request.url.path, **context)


def _api(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, request.url.path, exc.headers)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        return _internal(request, exc)
    errors = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [
            {k: v for k, v in e.items() if k in ("key", "message", "source")}
            for e in exc.extra
            if isinstance(e, dict)
        ]
    code = _HTTP_CODES.get(status, "bad-request")
    return problem(status, code, str(exc.detail), request.url.path, exc.headers, errors=errors)


def _store(request: Request[Any, Any, Any], exc: StoreError) -> Response[dict[str, Any]]:
    log.error("store error on %s: %s", request.url.path, exc)
    return problem(503, "store-unavailable", str(exc), request.url.path)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        "The appliance hit an unexpected error; nothing was written. Try again.",
        request.url.path,
    )


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: _domain,
    ApiError: _api,
    HTTPException: _http,
    StoreError: _store,
    Exception: _internal,
}
