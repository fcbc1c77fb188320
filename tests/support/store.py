"""A store opened in process (no server) and the small commands its tests write with."""

from __future__ import annotations

import itertools

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas import documents as d

DAY = "store/s1/day/2026-11-26"
_numbers = itertools.count(1)


def order_at(at_ms: int, number: int | None = None) -> d.Order:
    """A bare open order of ``DAY`` (numbered in sequence unless ``number`` is given)."""
    return d.Order(
        id=uuid7(),
        number=number or next(_numbers),
        business_day="2026-11-26",
        device_id="t1",
        opened_by="e1",
        opened_at_ms=at_ms,
        updated_at_ms=at_ms,
    )


def audit(tx: WriteTx, action: str = "test") -> None:
    tx.audit(
        DAY,
        d.AuditEntry(
            id=uuid7(),
            at_ms=tx.at_ms,
            actor_id="e1",
            device_id="t1",
            action=action,
            entity_type="order",
        ),
    )


def new_order(tx: WriteTx) -> d.Order:
    """A command: put a new order into ``DAY`` and audit it."""
    order = order_at(tx.at_ms)
    tx.put(DAY, "orders", order)
    audit(tx)
    return order


def owner_of(edge: Edge, device_id: str | None = None) -> Actor:
    """The store's first active owner, acting from ``device_id`` (for in-process callers)."""
    row = edge.store.read.execute(
        "SELECT id, name FROM employees WHERE role = 'owner' AND active = 1 ORDER BY id LIMIT 1"
    ).fetchone()
    return Actor(employee_id=row[0], role="owner", name=row[1], device_id=device_id)
