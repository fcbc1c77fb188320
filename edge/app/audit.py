"""Audit entries: who did what, when, from which device, approved by whom."""

from __future__ import annotations

from typing import Any

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import AuditEntry


def audit(
    tx: WriteTx,
    edge: Edge,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: str | None,
    *,
    day: str | None = None,
    approved_by: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry to the day document of ``day`` (default: today's open day)."""
    if day is None:
        day = edge.open_day(tx.conn, tx.at_ms, edge.settings(tx.conn))
    entry = AuditEntry(
        id=uuid7(),
        at_ms=tx.at_ms,
        actor_id=actor.employee_id if actor else None,
        device_id=actor.device_id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        approved_by=approved_by,
        detail=detail or {},
    )
    tx.audit(edge.day_doc(day), entry)
