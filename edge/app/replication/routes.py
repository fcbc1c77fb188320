"""Routes: how replication with the relay is going, and a "sync now" button."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.domain.permissions import DEVICE_MANAGE
from edge.store.documents import document_sizes
from edge.sync import cursors
from edge.sync.worker import SyncSummary
from shared.problems import ApiError
from shared.schemas.documents import DOC_BUDGET_BYTES


class DocStatus(msgspec.Struct, kw_only=True):
    doc_id: str
    pending_updates: int  # made here, not yet acknowledged by the relay
    last_success_ms: int | None
    lag_ms: int | None  # since the last successful exchange of this document
    last_error: str | None
    size_bytes: int  # snapshot and log held here
    over_budget: bool  # above DOC_BUDGET_BYTES: partitioning has failed for it, tell someone


class SyncStatus(msgspec.Struct, kw_only=True):
    summary: SyncSummary
    docs: list[DocStatus]


def status(edge: Edge) -> SyncStatus:
    """Per document: pending updates, last success, lag and last error."""
    conn = edge.store.read
    marks = cursors.cursors(conn)
    pending = cursors.pending_counts(conn)
    sizes = document_sizes(conn)
    now = edge.clock()
    docs = []
    for doc_id in sorted(set(marks) | set(pending) | set(sizes)):
        mark = marks.get(doc_id)
        success = mark.last_success_ms if mark else None
        docs.append(
            DocStatus(
                doc_id=doc_id,
                pending_updates=pending.get(doc_id, 0),
                last_success_ms=success,
                lag_ms=None if success is None else now - success,
                last_error=mark.last_error if mark else None,
                size_bytes=sizes.get(doc_id, 0),
                over_budget=sizes.get(doc_id, 0) > DOC_BUDGET_BYTES,
            )
        )
    summary = edge.sync.summary if edge.sync else SyncSummary(enrolled=False)
    return SyncStatus(summary=summary, docs=docs)


@get("/sync/status", guards=[requires(DEVICE_MANAGE)])
async def sync_status(request: Request[Actor, Any, Any]) -> SyncStatus:
    """Replication with the relay, per document."""
    return status(request.app.state.edge)


@post("/sync/now", guards=[requires(DEVICE_MANAGE)], status_code=202)
async def sync_now(request: Request[Actor, Any, Any]) -> SyncSummary:
    """Wake the sync worker now instead of at its next turn."""
    edge: Edge = request.app.state.edge
    if edge.sync is None:
        raise ApiError(
            409,
            "not-enrolled",
            "This appliance is not enrolled with a relay: run fynlo-edge enroll.",
        )
    edge.sync.sync_now()
    return edge.sync.summary


router = Router(path="/api/v1", route_handlers=[sync_status, sync_now], tags=["replication"])
