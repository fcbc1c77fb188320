"""RFC 9457 problem details: every error of the relay becomes one, in this one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response

from cloud.relay.storage.base import Conflict, NotFound, StorageError
from shared.problems import base_handlers, problem

log = logging.getLogger("fynlo.relay")


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


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **base_handlers(log, "The relay hit an unexpected error. Try again; pushes are idempotent."),
    StorageError: _storage,
}
