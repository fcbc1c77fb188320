"""Routes of the catalog area: the full catalog for tablets and CRUD for each kind of entity.

The five kinds share one shape (list, get, create, patch, archive), so their handlers are made by
one factory from a table of kinds and body types; the types are set as the handlers' annotations,
which Litestar reads to parse bodies and to describe them in the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, Parameter

from edge.app.auth.principal import Actor, requires
from edge.app.catalog import queries, schemas, service
from edge.app.catalog.queries import Kind
from edge.app.context import Edge
from edge.domain.errors import NotFound
from edge.domain.permissions import CATALOG_READ, CATALOG_WRITE
from shared.schemas.documents import Item

Archived = Annotated[bool, Parameter(description="include archived entities")]


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


@get("/catalog", guards=[requires(CATALOG_READ)])
async def full_catalog(
    request: Request[Actor, Any, Any], include_archived: Archived = False
) -> schemas.Catalog:
    """The whole catalog a tablet needs: categories, items, modifier groups, taxes, discounts."""
    return queries.full_catalog(_edge(request).store.read, include_archived)


@get("/catalog/items", guards=[requires(CATALOG_READ)])
async def list_items(
    request: Request[Actor, Any, Any],
    q: Annotated[
        str | None, Parameter(max_length=100, description="prefix search on name and SKU")
    ] = None,
    category_id: Annotated[str | None, Parameter(max_length=64)] = None,
    barcode: Annotated[str | None, Parameter(max_length=64)] = None,
    include_archived: Archived = False,
) -> list[Item]:
    """Items, optionally searched by name/SKU prefix, filtered by category or barcode."""
    return queries.find_items(
        _edge(request).store.read,
        q=q,
        category_id=category_id,
        barcode=barcode,
        include_archived=include_archived,
    )


def _typed(fn: Callable[..., Any], **annotations: Any) -> Callable[..., Any]:
    fn.__annotations__ = {**fn.__annotations__, **annotations}
    return fn


def _read_handlers(kind: Kind, *, with_list: bool) -> list[HTTPRouteHandler]:
    """List (unless the kind has its own) and get handlers for one kind of entity."""
    base = f"/catalog/{kind.path}"
    read = [requires(CATALOG_READ)]

    async def list_all(
        request: Request[Actor, Any, Any], include_archived: Archived = False
    ) -> Any:
        return queries.list_all(_edge(request).store.read, kind, include_archived)

    async def get_one(request: Request[Actor, Any, Any], entity_id: FromPath[str]) -> Any:
        entity = queries.get(_edge(request).store.read, kind, entity_id)
        if entity is None:
            raise NotFound(f"There is no {kind.noun} {entity_id}.", id=entity_id)
        return entity

    struct: Any = kind.struct
    one = get(base + "/{entity_id:str}", guards=read, summary=f"Get {kind.a}")
    every = get(base, guards=read, summary=f"List {kind.noun}s")
    handlers = [one(_typed(get_one, **{"return": struct}))]
    if with_list:
        handlers.append(every(_typed(list_all, **{"return": list[struct]})))
    return handlers


def _write_handlers(
    kind: Kind, create_body: type[Any], patch_body: type[Any]
) -> list[HTTPRouteHandler]:
    """Create, patch and archive handlers for one kind of entity."""
    base = f"/catalog/{kind.path}"
    one = base + "/{entity_id:str}"
    write = [requires(CATALOG_WRITE)]

    async def create(request: Request[Actor, Any, Any], data: JSONBody[Any]) -> Response[Any]:
        command = service.create_entity(_edge(request), request.user, kind, data)
        entity, created = await _edge(request).store.writer.run(command)
        return Response(entity, status_code=201 if created else 200)

    async def update(
        request: Request[Actor, Any, Any], entity_id: FromPath[str], data: JSONBody[Any]
    ) -> Any:
        command = service.patch_entity(_edge(request), request.user, kind, entity_id, data)
        return await _edge(request).store.writer.run(command)

    async def archive(request: Request[Actor, Any, Any], entity_id: FromPath[str]) -> None:
        command = service.archive_entity(_edge(request), request.user, kind, entity_id)
        await _edge(request).store.writer.run(command)

    struct: Any = kind.struct
    created = f"Create {kind.a} (201; 200 for a repeat of the same create)"
    return [
        post(base, guards=write, status_code=201, summary=created)(
            _typed(create, data=JSONBody[create_body], **{"return": Response[struct]})
        ),
        patch(one, guards=write, summary=f"Change only the given fields of {kind.a}")(
            _typed(update, data=JSONBody[patch_body], **{"return": struct})
        ),
        delete(one, guards=write, status_code=204, summary=f"Archive {kind.a} (kept for history)")(
            archive
        ),
    ]


_KINDS = [
    (queries.CATEGORIES, schemas.CategoryIn, schemas.CategoryPatch),
    (queries.ITEMS, schemas.ItemIn, schemas.ItemPatch),
    (queries.MODIFIER_GROUPS, schemas.ModifierGroupIn, schemas.ModifierGroupPatch),
    (queries.TAX_RATES, schemas.TaxRateIn, schemas.TaxRatePatch),
    (queries.DISCOUNTS, schemas.DiscountIn, schemas.DiscountPatch),
]

# Items have their own list handler, with search filters.
_GENERATED = [
    handler
    for kind, create_body, patch_body in _KINDS
    for handler in (
        *_read_handlers(kind, with_list=kind is not queries.ITEMS),
        *_write_handlers(kind, create_body, patch_body),
    )
]

router = Router(
    path="/api/v1", route_handlers=[full_catalog, list_items, *_GENERATED], tags=["catalog"]
)
