"""RFC 9457 problem details: every error of the relay becomes one, in this one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from cloud.relay.storage.base import Conflict, NotFound, StorageError

log = logging.getLogger("fynlo.relay")

PROBLEM_TYPE = "urn:fynlo:problem:"
MEDIA_TYPE = "application/problem+json"

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
    """A refusal raised by a route or its dependencies, answered as a problem."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers, self.extra = headers or {}, extra


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


def _api(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, request.url.path, exc.headers, **exc.extra)


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


def _storage(request: Request[Any, Any, Any], exc: StorageError) -> Response[dict[str, Any]]:
    if isinstance(exc, NotFound):
        return problem(404, "not-found", str(exc) or "No such thing.", request.url.path)
    if isinstance(exc, Conflict):
        return problem(409, "conflict", str(exc) or "That is taken already.", request.url.path)
    log.error("storage error on %s: %s", request.url.path, exc)
    return problem(
        503,
        "storage-unavailable",
        "The relay's database did not answer; try again.",
        request.url.path,
        {"Retry-After": "5"},
    )


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "The relay hit an unexpected error. Try again; pushes are idempotent.",
        request.url.path,
    )


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    ApiError: _api,
    HTTPException: _http,
    StorageError: _storage,
    Exception: _internal,
}
