"""Route: the concurrent edits of an org's shared fields that lost, for its owner to look at.

Read from the relay's shadows of the org's catalog and people and of each store's settings: the
same conflicts every appliance lists (shared.schemas.stamped), with where they are.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from cloud.relay.documents import doc_conflicts
from cloud.relay.routes import relay_of
from cloud.relay.routes.owner import Principal, _own_org, current_owner
from shared.schemas.documents import catalog_doc, people_doc, settings_doc
from shared.schemas.stamped import ConflictRecord


@get("/orgs/{org_id:str}/conflicts", tags=["owner"])
async def list_conflicts(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], org_id: FromPath[str]
) -> list[ConflictRecord]:
    """Every edit of the org's catalog, staff or store settings that lost to a concurrent one,
    newest first; it stays listed until someone edits that field again."""
    _own_org(owner, org_id)
    relay = relay_of(request)
    stores = await relay.storage.list_stores(org_id)
    doc_ids = [catalog_doc(org_id), people_doc(org_id), *(settings_doc(s.id) for s in stores)]
    found: list[ConflictRecord] = []
    for doc_id in doc_ids:
        found += await relay.documents.read(doc_id, lambda doc, d=doc_id: doc_conflicts(d, doc))
    return sorted(found, key=lambda c: (c.at_ms, c.lost_at_ms), reverse=True)


router = Router(
    path="/api/v1", route_handlers=[list_conflicts], dependencies={"owner": Provide(current_owner)}
)
