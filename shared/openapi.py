"""The API contract in OpenAPI: every status a route can answer, and what its bodies accept.

Litestar documents a handler's success answer and, when the handler takes input, a 400 in a
shape of its own; our refusals are RFC 9457 problems (``application/problem+json``). So, once an
app is built and before its schema is first asked for, ``document`` gives every handler one
``responses`` entry per status it can answer, each a ``ProblemDetails`` naming its problem types.

Which statuses a route can answer follows from what the route is, read top to bottom from a table
of ``Rule``s (a route with a JSON body can answer 400, 413 and 422; a route behind a token 401;
...); what no rule can see (a login's 429, a route that looks up the open till) is listed per
operation, as ``"POST /api/v1/auth/pin"``, in a table beside the rules. A listed operation that no
longer exists fails the app's start, so the table cannot drift from the routes.

Bodies: a Struct that refuses unknown fields is ``additionalProperties: false``
(``StrictStructSchemaPlugin``), and a body the handler may go without is not ``required``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Response

# Private to Litestar, but the one way to change how a Struct is described: subclassed below, and
# Litestar is pinned below 3 in pyproject.toml.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation, Schema
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition
from litestar.utils.helpers import unwrap_partial
from msgspec import UNSET, UnsetType

from shared.problems import MEDIA_TYPE, PROBLEM_TYPE

# A status and the problem types (``urn:fynlo:problem:<code>``) a route answers it with.
Problems = Mapping[int, tuple[str, ...]]


class FieldError(msgspec.Struct, kw_only=True):
    """One refused value of a request: where it was and what is wrong with it."""

    message: str
    source: str | UnsetType = UNSET  # body, query, path or header
    key: str | UnsetType = UNSET  # the field or parameter, as a path (``lines.0.quantity``)


class ProblemDetails(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem. A refusal may add members of its own (``permission``, ``field``)."""

    type: Annotated[str, msgspec.Meta(pattern=f"^{PROBLEM_TYPE}[a-z0-9-]+$")]
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: str
    instance: str | UnsetType = UNSET
    errors: list[FieldError] | UnsetType = UNSET


@dataclass(frozen=True)
class Route:
    """One operation, as the rules see it."""

    method: str
    path: str
    handler: HTTPRouteHandler

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def body(self) -> FieldDefinition | None:
        return self.handler.parsed_data_field

    def body_fields(self) -> tuple[str, ...]:
        """The top-level field names of a Struct body (of ``Struct | None`` too)."""
        body = self.body
        if body is None:
            return ()
        types = [body.annotation, *(t.annotation for t in body.inner_types)]
        structs = [t for t in types if isinstance(t, type) and issubclass(t, msgspec.Struct)]
        return structs[0].__struct_fields__ if structs else ()

    def parameters(self) -> list[str]:
        """Path, query and header parameters (not Litestar's reserved names, not dependencies)."""
        skip = RESERVED_KWARGS | self.handler.dependency_name_set
        return [name for name in self.handler.parsed_fn_signature.parameters if name not in skip]


@dataclass(frozen=True)
class Rule:
    """Routes for which ``applies`` holds can answer these problems; ``why`` says what they do."""

    why: str
    applies: Callable[[Route], bool]
    problems: Problems


# Both apps decode JSON bodies into their Struct within a body size limit, and parameters by type.
DECODING = (
    Rule(
        "takes a JSON body",
        lambda r: r.body is not None,
        {400: ("bad-request",), 413: ("payload-too-large",)},
    ),
    Rule("takes parameters", lambda r: bool(r.parameters()), {400: ("bad-request",)}),
)


@dataclass
class OptionalBody(Operation):
    """An operation whose handler has a default for its body: sending none is fine."""

    def __post_init__(self) -> None:
        if self.request_body is not None:
            self.request_body.required = False


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """A Struct with ``forbid_unknown_fields`` is described with ``additionalProperties: false``,
    as the body decoder refuses any field it does not name."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = field_definition.type_.__struct_config__
        if config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def problem_response(status: int, codes: Sequence[str]) -> ResponseSpec:
    """The OpenAPI answer of ``status``: problem details of one of these types."""
    types = ", ".join(f"`{PROBLEM_TYPE}{code}`" for code in sorted(set(codes)))
    return ResponseSpec(
        data_container=ProblemDetails,
        generate_examples=False,
        description=f"{HTTPStatus(status).phrase}: {types}",
        media_type=MEDIA_TYPE,
    )


def routes(app: Litestar) -> Iterator[Route]:
    """Every documented HTTP operation of ``app``."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method not in ("OPTIONS", "HEAD") and handler.resolve_include_in_schema():
                yield Route(method, route.path_format, handler)


def problems_of(route: Route, rules: Sequence[Rule], listed: Problems) -> dict[int, list[str]]:
    """The statuses ``route`` can answer, with their problem types: the rules', then its own."""
    found: dict[int, list[str]] = {}
    for problems in [*(r.problems for r in rules if r.applies(route)), listed]:
        for status, codes in problems.items():
            found.setdefault(status, []).extend(codes)
    return found


def document(
    app: Litestar,
    rules: Sequence[Rule],
    listed: Mapping[str, Problems],
    replays: Callable[[Route], bool] = lambda _: False,
) -> None:
    """Give every operation of ``app`` its problem answers; ``listed`` adds per operation.

    A create that ``replays`` answers 200 with what the first request created when retried.
    """
    unknown = set(listed) - {route.key for route in routes(app)}
    if unknown:
        raise ValueError(f"problems listed for operations that do not exist: {sorted(unknown)}")
    for route in routes(app):
        handler = route.handler
        found = problems_of(route, rules, listed.get(route.key, {}))
        responses = dict(handler.responses or {})
        responses.update({s: problem_response(s, codes) for s, codes in sorted(found.items())})
        if replays(route):
            responses[200] = ResponseSpec(
                data_container=success_type(handler),
                generate_examples=False,
                description="A repeat of a create already done: what the first one created.",
            )
        handler.responses = responses
        if route.body is not None and route.body.has_default:
            handler.operation_class = OptionalBody
    repair_allow(app)


def repair_allow(app: Litestar) -> None:
    """Make ``OPTIONS`` list every method of its path, as ``Allow`` must.

    Litestar 2 gives a path's OPTIONS handler the route built when its first handler was
    registered, so it answers with that handler's methods only (litestar#4169, fixed in 3).
    Its handler reads ``self.methods`` of the route it closes over: point that at the whole route.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        fn = unwrap_partial(route.route_handler_map["OPTIONS"][0].fn)
        code = getattr(fn, "__code__", None)
        if fn.__name__ == "options_handler" and code is not None and code.co_freevars == ("self",):
            fn.__closure__[0].cell_contents = route  # type: ignore[union-attr]


def success_type(handler: HTTPRouteHandler) -> Any:
    """What the handler answers on success (``X`` of a ``Response[X]``)."""
    returned = handler.parsed_fn_signature.return_type
    if returned.is_subclass_of(Response) and returned.inner_types:
        return returned.inner_types[0].annotation
    return returned.annotation
