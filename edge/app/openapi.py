"""The appliance's contract: which problems each route can answer (see ``shared.openapi``).

``RULES`` are read top to bottom; each adds statuses to every route it applies to. ``LISTED`` adds
what a rule cannot see from the route's shape, per operation. ``tests/contract`` runs schemathesis
against a real appliance and fails on any status or content type this leaves out.
"""

from __future__ import annotations

import re

from litestar import Litestar, Response

from shared.openapi import DECODING, Problems, Route, Rule, document

# Paths the token middleware lets through (besides handlers marked ``exclude_from_auth``).
PUBLIC_PATHS = ("^/schema", "^/health", "^/metrics")
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _public(route: Route) -> bool:
    excluded = bool(route.handler.opt.get("exclude_from_auth"))
    return excluded or any(re.match(p, route.path) for p in PUBLIC_PATHS)


def _writes(route: Route) -> bool:
    return route.method in _WRITES and not _public(route)


RULES = (
    *DECODING,  # the body decoder and its size limit; typed parameters
    # The strict body decoder takes JSON only (edge.app.bodies).
    Rule("takes a JSON body", lambda r: r.body is not None, {415: ("unsupported-media-type",)}),
    Rule(
        "needs an access token",
        lambda r: not _public(r),
        {401: ("unauthorized", "token-expired")},
    ),
    Rule(
        "has a permission guard",
        lambda r: bool(r.handler.resolve_guards()),
        {403: ("permission-denied",)},
    ),
    Rule("names an entity in its path", lambda r: "{" in r.path, {404: ("not-found",)}),
    # Every change runs through the writer: the domain's refusals, card numbers in any text
    # (the writer checks every entity it stores) and a writer that has stopped.
    Rule(
        "changes the store",
        _writes,
        {
            409: ("conflict", "illegal-transition", "drawer-closed", "day-sealed"),
            422: ("invalid-input", "card-number"),
            503: ("store-unavailable",),
        },
    ),
    # An inline manager override: a wrong PIN, a PIN that may not approve, too many wrong ones.
    Rule(
        "takes a manager's PIN",
        lambda r: "manager_pin" in r.body_fields(),
        {401: ("wrong-pin",), 403: ("approval-required",), 429: ("locked-out",)},
    ),
)

_DAY: Problems = {422: ("invalid-input",)}  # a day that is no calendar day, or not begun yet
_REUSED: Problems = {409: ("idempotency-key-reused",)}
LISTED: dict[str, Problems] = {
    "POST /api/v1/devices/pair": {
        403: ("pairing-code-invalid",),
        422: ("card-number",),  # the tablet's name is text the writer checks
        503: ("store-unavailable",),
    },
    "POST /api/v1/auth/pin": {
        401: ("device-not-paired", "wrong-pin"),
        429: ("locked-out",),
        503: ("store-unavailable",),
    },
    "POST /api/v1/auth/password": {
        401: ("login-failed",),
        429: ("locked-out",),
        503: ("store-unavailable",),
    },
    "POST /api/v1/auth/refresh": {401: ("unauthorized",)},
    "GET /api/v1/drawer/sessions/current": {404: ("not-found",)},
    "GET /api/v1/drawer/sessions": _DAY,
    "GET /api/v1/orders": _DAY,
    "GET /api/v1/reports/x": _DAY,
    "GET /api/v1/reports/z/{day}": _DAY,
    "POST /api/v1/sync/now": {409: ("not-enrolled",)},
    # A client id sent again with a different request (edge.app.orders.replays).
    "POST /api/v1/orders": _REUSED,
    "POST /api/v1/orders/{order_id}/payments": _REUSED,
    "POST /api/v1/orders/{order_id}/refunds": _REUSED,
    # Setting a PIN is a guess at one (a PIN another holds here is refused like a wrong one);
    # an owner's entry in an enrolled store is the relay's.
    "POST /api/v1/employees": {403: ("owner-refused",), 429: ("locked-out",)},
    "PATCH /api/v1/employees/{employee_id}": {403: ("owner-refused",), 429: ("locked-out",)},
}


def _replays(route: Route) -> bool:
    """A create with a client id answers 200 with what the first one made (see the routes)."""
    handler = route.handler
    chooses_status = handler.parsed_fn_signature.return_type.is_subclass_of(Response)
    return handler.status_code == 201 and chooses_status and "id" in route.body_fields()


def document_problems(app: Litestar) -> None:
    """Give every route of the appliance's API its problem answers in the OpenAPI schema."""
    document(app, RULES, LISTED, _replays)
