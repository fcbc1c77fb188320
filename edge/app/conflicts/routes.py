"""Route: the concurrent edits of shared fields that lost, for a manager to look at.

Two replicas that edit one field while apart both keep their edit in the document; the later one
wins everywhere (shared.schemas.stamped) and the other is listed here, on every replica alike,
until someone edits the field again.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get

from edge.app.auth.principal import Actor, requires
from edge.domain.permissions import AUDIT_READ
from shared.schemas.stamped import Conflict, ConflictRecord


@get("/conflicts", guards=[requires(AUDIT_READ)])
async def list_conflicts(request: Request[Actor, Any, Any]) -> list[ConflictRecord]:
    """Every edit of the catalog, staff or settings that lost to a concurrent one, newest first."""
    rows = request.app.state.edge.store.read.execute(
        "SELECT doc_id, collection, entity_id, data FROM conflicts"
    )
    found = [
        ConflictRecord(
            doc_id=doc_id,
            collection=collection,
            entity_id=entity_id,
            **msgspec.structs.asdict(msgspec.json.decode(data, type=Conflict)),
        )
        for doc_id, collection, entity_id, data in rows
    ]
    return sorted(found, key=lambda c: (c.at_ms, c.lost_at_ms), reverse=True)


router = Router(path="/api/v1", route_handlers=[list_conflicts], tags=["replication"])
