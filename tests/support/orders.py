"""Orders through the API: ring one up, read one back, list them all, read an entity's audit."""

from __future__ import annotations

from typing import Any

from tests.support.answers import expect_json
from tests.support.server import Tablet

ORDERS = "/api/v1/orders"


def ring(tablet: Tablet, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Open an order and return it."""
    return expect_json(tablet.post(ORDERS, json={"lines": lines, **extra}), 201)


def fetch(tablet: Tablet, order_id: str) -> dict[str, Any]:
    """One order with its payments and refunds."""
    return expect_json(tablet.get(f"{ORDERS}/{order_id}"))


def all_orders(tablet: Tablet) -> list[dict[str, Any]]:
    """Every order of the store (for checking that a refusal changed nothing)."""
    return expect_json(tablet.get(ORDERS, params={"limit": 500}))


def audit_of(manager: Tablet, entity_id: str) -> list[dict[str, Any]]:
    """The audit entries about one entity, newest first."""
    return expect_json(manager.get("/api/v1/audit", params={"entity_id": entity_id}))
