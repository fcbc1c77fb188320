"""RFC 9457 problem details shared by the appliance and the relay.

Each process builds its exception handlers from these pieces and adds its own layers' errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from shared.cards import CardNumberFound

PROBLEM_TYPE = "urn:fynlo:problem:"
MEDIA_TYPE = "application/problem+json"
Handler = Callable[[Request[Any, Any, Any], Any], Response[dict[str, Any]]]

HTTP_CODES = {
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


def api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, request.url.path, exc.headers, **exc.extra)


def internal_error(log: logging.Logger, detail: str) -> Handler:
    """The handler of last resort: log the error, answer 500 with ``detail``."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return problem(500, "internal-error", detail, request.url.path)

    return handle


def http_error(internal: Handler) -> Handler:
    """Litestar's own refusals (validation, 404, 405, 413) as problems; 5xx to ``internal``."""

    def handle(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
        status = exc.status_code
        if status >= 500:
            return internal(request, exc)
        errors = None
        if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
            errors = [
                {k: v for k, v in e.items() if k in ("key", "message", "source")}
                for e in exc.extra
                if isinstance(e, dict)
            ]
        code = HTTP_CODES.get(status, "bad-request")
        return problem(status, code, str(exc.detail), request.url.path, exc.headers, errors=errors)

    return handle


def card_number(request: Request[Any, Any, Any], exc: CardNumberFound) -> Response[dict[str, Any]]:
    return problem(422, "card-number", str(exc), request.url.path, field=exc.path)


def base_handlers(log: logging.Logger, internal_detail: str) -> dict[type[Exception], Any]:
    """ApiError, HTTPException, card numbers and anything else; a process adds its own errors
    to these."""
    internal = internal_error(log, internal_detail)
    return {
        ApiError: api_error,
        HTTPException: http_error(internal),
        CardNumberFound: card_number,
        Exception: internal,
    }
