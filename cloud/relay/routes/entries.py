"""Routes: the entries of an org's documents that no replica can read, and their removal.

What got past the relay's checks (older data, a bug) is skipped by every read, here and on the
appliances, which list it in their quarantine. The owner sees it here and removes it: an ordinary
edit of the document (made on its shadow, appended, hinted), which every replica pulls, after
which it leaves every list. A removal is logged with who made it: it deletes data for good.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, delete, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from cloud.relay.entries import Unreadable, of_org, org_documents, remove, unreadable
from cloud.relay.routes import relay_of
from cloud.relay.routes.catalog import _edit
from cloud.relay.routes.owner import Principal, _own_org, current_owner
from shared.problems import ApiError

log = logging.getLogger("fynlo.relay")

DocId = Annotated[
    str, QueryParameter(min_length=1, max_length=200, description="e.g. org/{org}/catalog")
]
RootName = Annotated[str, QueryParameter(min_length=1, max_length=100, description="a root map")]
EntryKey = Annotated[str | None, QueryParameter(min_length=1, max_length=200)]
MaybeDocId = Annotated[
    str | None, QueryParameter(min_length=1, max_length=200, description="only this document")
]


class Removed(msgspec.Struct, frozen=True, kw_only=True):
    """What a removal deleted: ``keys`` map keys (an entity, or the cells of a flat value)."""

    doc_id: str
    collection: str
    key: str | None
    keys: int


async def _own_doc(
    request: Request[Any, Any, Any], owner: Principal, org_id: str, doc_id: str
) -> None:
    """403 unless ``doc_id`` is a document of the owner's org or of one of its stores."""
    _own_org(owner, org_id)
    if not await of_org(relay_of(request).storage, org_id, doc_id):
        raise ApiError(
            403, "forbidden", "That is not a document of your organisation.", doc_id=doc_id
        )


@get("/orgs/{org_id:str}/quarantine", tags=["owner"])
async def list_unreadable(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    org_id: FromPath[str],
    doc_id: MaybeDocId = None,
) -> list[Unreadable]:
    """Entries of the org's documents that no replica can read, skipped by every read (``key``
    '': a whole root its kind of document does not hold). Without ``doc_id``, every document of
    the org and its stores but their days (ask for a day's document by its id)."""
    relay = relay_of(request)
    if doc_id is not None:
        await _own_doc(request, owner, org_id, doc_id)
        doc_ids = [doc_id]
    else:
        _own_org(owner, org_id)
        doc_ids = await org_documents(relay.storage, org_id)
    found: list[Unreadable] = []
    for one in doc_ids:
        found += await relay.documents.read(one, lambda doc, d=one: unreadable(d, doc))
    return found


@delete("/orgs/{org_id:str}/entries", tags=["owner"], status_code=200)
async def remove_entry(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Principal],
    org_id: FromPath[str],
    doc_id: DocId,
    collection: RootName,
    key: EntryKey = None,
) -> Removed:
    """Remove an entry from a document of the org or of one of its stores, for every replica:
    ``key`` an entity (of a flat root such as settings: every cell of that value, which then
    reads as its default), or without ``key`` every entry of the root. For what no replica can
    read (GET /orgs/{org}/quarantine); it deletes whatever it names, readable or not."""
    await _own_doc(request, owner, org_id, doc_id)
    keys = await _edit(request, owner, doc_id, remove(collection, key))
    log.warning(
        "owner %s removed %s/%s from %s (%d key(s))",
        owner.owner_id,
        collection,
        key if key is not None else "*",
        doc_id,
        keys,
    )
    return Removed(doc_id=doc_id, collection=collection, key=key, keys=keys)


router = Router(
    path="/api/v1",
    route_handlers=[list_unreadable, remove_entry],
    dependencies={"owner": Provide(current_owner)},
)
