"""The owner's catalog and store-settings edits, written into the documents the stores sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import pycrdt
from litestar import Request, Router, get, patch
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, UnsetType

from cloud.relay.documents import (
    DocumentError,
    EditConflict,
    EntityNotFound,
    patch_item,
    patch_settings,
    read_items,
    read_settings,
)
from cloud.relay.entries import EntryMissing
from cloud.relay.routes import relay_of
from cloud.relay.routes.owner import Principal, _own_org, _own_store, current_owner
from shared.problems import ApiError
from shared.schemas.documents import (
    Item,
    StoreSettings,
    catalog_doc,
    settings_doc,
)
from shared.schemas.edits import StoreSettingsPatch
from shared.schemas.fields import Code, Name, Price, Uuid
from shared.schemas.stamped import Stamping
from shared.schemas.sync import DocHead

T = TypeVar("T")


class ItemPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The item fields to change; fields left out keep their value (and their last writer)."""

    name: Name | UnsetType = UNSET
    price_minor: Price | UnsetType = UNSET
    category_id: Uuid | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
    sku: Code | UnsetType | None = UNSET
    barcode: Code | UnsetType | None = UNSET


async def _edit(
    request: Request[Any, Any, Any],
    owner: Principal,
    doc_id: str,
    change: Callable[[pycrdt.Doc, Stamping], T],
) -> T:
    """Apply an edit to a document, append its update and hint the stores; refusals as 4xx."""
    relay = relay_of(request)
    try:
        edited = await relay.documents.edit(doc_id, change, by=owner.owner_id)
    except (EntityNotFound, EntryMissing) as exc:
        raise ApiError(404, "not-found", str(exc)) from exc
    except EditConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    except DocumentError as exc:
        raise ApiError(422, "invalid-input", str(exc)) from exc
    ack = edited.ack
    if ack is not None and ack.accepted:
        relay.counters.updates_appended += ack.accepted
        # No device made this change: every device whose scope covers it hears of it.
        await relay.fanout.publish([DocHead(doc_id=ack.doc_id, head=ack.head)], "")
    return edited.result


@get("/orgs/{org_id:str}/catalog/items", tags=["owner"])
async def list_items(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], org_id: FromPath[str]
) -> list[Item]:
    """The items of the org's catalog, as the stores last synced them to the relay."""
    _own_org(owner, org_id)
    return await relay_of(request).documents.read(catalog_doc(org_id), read_items)


@patch("/orgs/{org_id:str}/catalog/items/{item_id:str}", tags=["owner"])
async def patch_catalog_item(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    org_id: FromPath[str],
    item_id: FromPath[str],
    data: JSONBody[ItemPatch],
) -> Item:
    """Change only the given fields of an item; the stores receive it as a document update."""
    _own_org(owner, org_id)
    values = msgspec.to_builtins(data)
    return await _edit(
        request, owner, catalog_doc(org_id), lambda doc, at: patch_item(doc, item_id, values, at)
    )


@get("/stores/{store_id:str}/settings", tags=["owner"])
async def get_store_settings(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], store_id: FromPath[str]
) -> StoreSettings:
    """A store's settings, as its appliance last synced them to the relay."""
    await _own_store(request, owner, store_id)
    try:
        return await relay_of(request).documents.read(settings_doc(store_id), read_settings)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ApiError(409, "conflict", f"The store's settings are unreadable: {exc}") from exc


@patch("/stores/{store_id:str}/settings", tags=["owner"])
async def patch_store_settings(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    store_id: FromPath[str],
    data: JSONBody[StoreSettingsPatch],
) -> StoreSettings:
    """Change only the given settings of a store; its appliance receives them by sync."""
    await _own_store(request, owner, store_id)
    values = msgspec.to_builtins(data)
    return await _edit(
        request, owner, settings_doc(store_id), lambda doc, at: patch_settings(doc, values, at)
    )


router = Router(
    path="/api/v1",
    route_handlers=[list_items, patch_catalog_item, get_store_settings, patch_store_settings],
    dependencies={"owner": Provide(current_owner)},
)
