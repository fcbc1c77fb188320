"""Routes: how replication with the relay is going, and a "sync now" button."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.replication.quarantine import list_quarantine
from edge.domain.permissions import DEVICE_MANAGE
from edge.store import quarantine
from edge.store.documents import document_sizes
from edge.store.quarantine import Quarantined
from edge.sync import cursors, verify
from edge.sync.cursors import DocCursor
from edge.sync.worker import SyncSummary
from shared.problems import ApiError
from shared.schemas.documents import DOC_BUDGET_BYTES


class DocStatus(msgspec.Struct, kw_only=True):
    doc_id: str
    # True only when nothing waits to be pushed and the relay's state vector was last seen
    # covering everything this appliance holds, after its last change here.
    in_sync: bool
    pending_updates: int  # made here, not yet acknowledged by the relay
    last_success_ms: int | None
    # How long the oldest change made here has waited for the relay: 0 when the relay holds all
    # of them (a document nobody changed is not behind, however long ago it last synced).
    lag_ms: int
    last_error: str | None
    relay_verified_ms: int | None  # when the relay's state vector last covered ours
    relay_missing: bool  # the last check found the relay lacking what is here
    repairs: int  # times what the relay lacked was pushed again: each one a bug or a restore
    last_repair_ms: int | None
    size_bytes: int  # segments and log held here
    over_budget: bool  # above DOC_BUDGET_BYTES: partitioning has failed for it, tell someone
    quarantined: int  # entries of it this appliance cannot read (left out, listed below)


class SyncStatus(msgspec.Struct, kw_only=True):
    summary: SyncSummary
    docs: list[DocStatus]
    # Received but unreadable here, left out of the tables while the rest syncs on; the owner
    # removes them on the relay (GET /api/v1/sync/quarantine lists them too, for managers).
    quarantined: int
    quarantine: list[Quarantined]


def status(edge: Edge) -> SyncStatus:
    """Per document: pending updates, last success, lag and last error."""
    conn = edge.store.read
    marks = cursors.cursors(conn)
    pending = cursors.pending_counts(conn)
    waiting_since = cursors.oldest_pending_ms(conn)
    sizes = document_sizes(conn)
    unreadable = quarantine.entries(conn)
    per_doc = quarantine.counts(conn)
    now = edge.clock()
    docs = []
    summary = edge.sync.summary if edge.sync else SyncSummary(enrolled=False)
    for doc_id in sorted(set(marks) | set(pending) | set(sizes)):
        mark = marks.get(doc_id) or DocCursor(doc_id=doc_id)
        # A round that went through left every document level with the relay.
        success = max(mark.last_success_ms or 0, summary.last_success_ms or 0) or None
        count = pending.get(doc_id, 0)
        written_ms = verify.last_local_ms(conn, doc_id)
        docs.append(
            DocStatus(
                doc_id=doc_id,
                in_sync=verify.in_sync(count, mark.relay_missing, mark.verified_ms, written_ms),
                pending_updates=count,
                last_success_ms=success,
                lag_ms=max(0, now - waiting_since[doc_id]) if doc_id in waiting_since else 0,
                last_error=mark.last_error,
                relay_verified_ms=mark.verified_ms,
                relay_missing=mark.relay_missing,
                repairs=mark.repairs,
                last_repair_ms=mark.last_repair_ms,
                size_bytes=sizes.get(doc_id, 0),
                over_budget=sizes.get(doc_id, 0) > DOC_BUDGET_BYTES,
                quarantined=per_doc.get(doc_id, 0),
            )
        )
    return SyncStatus(
        summary=summary, docs=docs, quarantined=len(unreadable), quarantine=unreadable
    )


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


router = Router(
    path="/api/v1",
    route_handlers=[sync_status, sync_now, list_quarantine],
    tags=["replication"],
)
