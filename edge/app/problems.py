"""RFC 9457 problem details: every error of every layer becomes one, in this one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response

from edge.domain.errors import (
    ApprovalRequired,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OwnerRefused,
    PermissionDenied,
)
from edge.store.errors import StoreError
from shared.problems import base_handlers, problem

log = logging.getLogger("fynlo.edge")

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    IllegalTransition: 409,
    Conflict: 409,
    ApprovalRequired: 403,
    PermissionDenied: 403,
    OwnerRefused: 403,
}


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = next((s for cls, s in _DOMAIN_STATUS.items() if isinstance(exc, cls)), 422)
    context = {k: v for k, v in exc.context.items() if isinstance(v, str | int | list | None)}
    return problem(status, exc.code, exc.detail, request.url.path, **context)


def _store(request: Request[Any, Any, Any], exc: StoreError) -> Response[dict[str, Any]]:
    log.error("store error on %s: %s", request.url.path, exc)
    return problem(503, "store-unavailable", str(exc), request.url.path)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **base_handlers(log, "The appliance hit an unexpected error; nothing was written. Try again."),
    DomainError: _domain,
    StoreError: _store,
}
