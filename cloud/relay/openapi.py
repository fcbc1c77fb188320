"""The relay's contract: which problems each route can answer (see ``shared.openapi``), and the
msgpack bodies of the sync routes.

``RULES`` are read top to bottom; ``LISTED`` adds what a rule cannot see, per operation. The sync
routes read and answer msgpack (``MSGPACK``), which Litestar cannot describe from their handlers
(they read the raw body): their request and 200 answer are given here, from the same message
Structs ``shared.schemas.sync`` decodes them with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from shared.openapi import DECODING, Problems, Route, Rule, document, routes
from shared.schemas import sync

MSGPACK = "application/x-msgpack"
_STORAGE: Problems = {503: ("storage-unavailable",)}


def _takes(dependency: str) -> Any:
    return lambda route: dependency in route.handler.parsed_fn_signature.parameters


RULES = (
    *DECODING,  # the body decoder and its size limit; typed parameters
    # Every route but /metrics reads the storage, which may not answer.
    Rule("reads the storage", lambda r: r.path != "/metrics", _STORAGE),
    # routes.owner.current_owner; unknown and foreign orgs, stores and devices alike are not yours.
    Rule(
        "needs an owner's token",
        _takes("owner"),
        {401: ("unauthorized", "token-expired"), 403: ("forbidden",)},
    ),
    # routes.sync: a device's token, within its rate limit.
    Rule(
        "needs a device's token",
        _takes("device"),
        {401: ("unauthorized",), 429: ("too-many-requests",)},
    ),
    # routes.sync reads msgpack, maybe deflated, size-limited, and checks it before storing.
    Rule(
        "takes a msgpack body",
        lambda r: _msgpack_request_of(r) is not None,
        {
            400: ("malformed-body", "invalid-message"),
            403: ("out-of-scope",),
            413: ("payload-too-large",),
            415: ("unsupported-media-type",),
        },
    ),
)

_EDIT: Problems = {
    404: ("not-found",),
    409: ("conflict",),
    422: ("invalid-input", "card-number"),
}
LISTED: dict[str, Problems] = {
    "POST /api/v1/auth/login": {401: ("login-failed",), 429: ("too-many-requests",)},
    "POST /api/v1/devices/enroll": {
        403: ("enrollment-code-invalid",),
        409: ("store-has-appliance",),
    },
    "PATCH /api/v1/orgs/{org_id}/catalog/items/{item_id}": _EDIT,
    "GET /api/v1/stores/{store_id}/settings": {409: ("conflict",)},
    "PATCH /api/v1/stores/{store_id}/settings": _EDIT,
    # A push is checked whole before anything is stored (routes.sync), its changes by the
    # rules of cloud.relay.policy.
    "POST /api/v1/sync/push": {
        403: (
            "relay-only",
            "delete-refused",
            "append-only",
            "owner-refused",
            "retired-field",
            "client-id-taken",
        ),
        422: (
            "hash-mismatch",
            "update-invalid",
            "update-incomplete",
            "unknown-document",
            "unknown-root",
            "entity-invalid",
            "cell-invalid",
            "stamp-ahead",
            "card-number",
        ),
    },
    "POST /api/v1/sync/pull": {422: ("invalid-state-vector",)},
    # routes.entries: nothing at the place named.
    "DELETE /api/v1/orgs/{org_id}/entries": {404: ("not-found",)},
}

# Each sync route's msgpack request (None: it takes no body) and its 200 answer.
MSGPACK_BODIES: dict[str, tuple[type[msgspec.Struct] | None, type[msgspec.Struct]]] = {
    "GET /api/v1/sync/docs": (None, sync.DocList),
    "POST /api/v1/sync/push": (sync.PushRequest, sync.PushResponse),
    "POST /api/v1/sync/pull": (sync.PullRequest, sync.PullResponse),
    "POST /api/v1/sync/state": (sync.StateRequest, sync.StateResponse),
}
_BYTES = " Shown as JSON Schema: `contentEncoding: base64` fields are msgpack bin, not text."
_DEFLATE = " It may be sent deflated (`Content-Encoding: deflate`)."


def _msgpack_request_of(route: Route) -> type[msgspec.Struct] | None:
    return MSGPACK_BODIES.get(route.key, (None, None))[0]


def json_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """``struct``'s JSON Schema with every ``$ref`` resolved in place (the messages nest no
    deeper than three Structs and never recursively), so it stands alone in an operation."""
    root = msgspec.json.schema(struct)
    defs = root.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return dict(inline(root))


def _msgpack_request(struct: type[msgspec.Struct]) -> type[Operation]:
    """An Operation class whose request body is ``struct`` in msgpack."""
    body = RequestBody(
        required=True,
        description=f"A `{struct.__name__}` in msgpack.{_BYTES}{_DEFLATE}",
        content={MSGPACK: OpenAPIMediaType(schema=json_schema(struct))},  # type: ignore[arg-type]
    )

    @dataclass
    class MsgpackOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return MsgpackOperation


def document_msgpack(app: Litestar) -> None:
    """Describe the sync routes' msgpack bodies: Litestar sees no ``data`` in their handlers."""
    for route in routes(app):
        if route.key not in MSGPACK_BODIES:
            continue
        request, answer = MSGPACK_BODIES[route.key]
        route.handler.responses = {
            **(route.handler.responses or {}),
            200: ResponseSpec(
                data_container=answer,
                generate_examples=False,
                description=f"A `{answer.__name__}` in msgpack.{_BYTES}",
                media_type=MSGPACK,
            ),
        }
        if request is not None:
            route.handler.operation_class = _msgpack_request(request)


def document_problems(app: Litestar) -> None:
    """Give every route of the relay its problem answers, and the sync routes their bodies."""
    missing = set(MSGPACK_BODIES) - {route.key for route in routes(app)}
    if missing:
        raise ValueError(f"msgpack bodies listed for operations that do not exist: {missing}")
    document(app, RULES, LISTED)
    document_msgpack(app)
