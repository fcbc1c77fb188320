"""Demo café (placeholder)."""

from __future__ import annotations

from edge.app.bootstrap import _first_owner
from edge.app.context import Edge
from edge.store.ids import uuid7


def seed_demo(edge: Edge) -> list[str]:
    owner_id = uuid7()
    edge.store.writer.call(lambda tx: _first_owner(tx, edge, owner_id, "1111"))
    return ["owner PIN 1111"]
