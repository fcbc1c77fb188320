"""Which collections each kind of document holds, how entries are encoded, where they project.

Three encodings (see shared.schemas.documents):

* ``encoded`` - one compact value per entry (shared.schemas.compact): single-writer entities
  (orders, payments, ...);
* ``fields``  - a nested Map of field -> JSON string: entities two sides edit (catalog, people);
* ``flat``    - a flat key -> JSON string map: settings and other shared scalars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

from shared.schemas import documents as d

Mode = Literal["encoded", "fields", "flat"]


@dataclass(frozen=True)
class Collection:
    """One named root Map of a document and the projection table it feeds."""

    name: str
    mode: Mode
    struct: type[msgspec.Struct] | None = None
    table: str | None = None  # None: flat values land in doc_values
    columns: tuple[str, ...] = ()  # struct attributes copied into table columns


CATALOG = (
    Collection("tax_rates", "fields", d.TaxRate, "tax_rates", ("name", "rate", "archived")),
    Collection("categories", "fields", d.Category, "categories", ("name", "sort", "archived")),
    Collection(
        "items",
        "fields",
        d.Item,
        "items",
        ("name", "category_id", "price_minor", "sku", "barcode", "archived"),
    ),
    Collection(
        "modifier_groups", "fields", d.ModifierGroup, "modifier_groups", ("name", "archived")
    ),
    Collection("discounts", "fields", d.Discount, "discounts", ("name", "archived")),
)
PEOPLE = (
    Collection(
        "employees",
        "fields",
        d.Employee,
        "employees",
        ("name", "role", "email", "pin_tag", "active"),
    ),
    Collection("meta", "flat"),
)
SETTINGS = (Collection("settings", "flat"),)
DAY = (
    Collection(
        "orders",
        "encoded",
        d.Order,
        "orders",
        (
            "business_day",
            "number",
            "state",
            "device_id",
            "opened_by",
            "opened_at_ms",
            "updated_at_ms",
        ),
    ),
    Collection(
        "payments",
        "encoded",
        d.Payment,
        "payments",
        (
            "order_id",
            "tender",
            "amount_minor",
            "tip_minor",
            "change_minor",
            "drawer_session_id",
            "taken_at_ms",
        ),
    ),
    Collection(
        "refunds",
        "encoded",
        d.Refund,
        "refunds",
        ("order_id", "payment_id", "tender", "amount_minor", "drawer_session_id", "taken_at_ms"),
    ),
    Collection(
        "drawer_sessions",
        "encoded",
        d.DrawerSession,
        "drawer_sessions",
        ("drawer_id", "state", "opened_at_ms"),
    ),
    Collection(
        "drawer_entries",
        "encoded",
        d.DrawerEntry,
        "drawer_entries",
        ("session_id", "kind", "amount_minor", "at_ms"),
    ),
    Collection(
        "audit",
        "encoded",
        d.AuditEntry,
        "audit",
        ("at_ms", "actor_id", "device_id", "action", "entity_type", "entity_id", "approved_by"),
    ),
    Collection("seal", "flat"),
)

_BY_NAME = {c.name: c for c in (*CATALOG, *PEOPLE, *SETTINGS, *DAY)}


def collection(name: str) -> Collection:
    """The collection called ``name`` (KeyError for a name no document holds)."""
    return _BY_NAME[name]


def doc_collections(doc_id: str) -> tuple[Collection, ...]:
    """The collections a document holds, from the shape of its id."""
    parts = doc_id.split("/")
    if len(parts) == 3 and parts[0] == "org" and parts[2] == "catalog":
        return CATALOG
    if len(parts) == 3 and parts[0] == "org" and parts[2] == "people":
        return PEOPLE
    if len(parts) == 3 and parts[0] == "store" and parts[2] == "settings":
        return SETTINGS
    if len(parts) == 4 and parts[0] == "store" and parts[2] == "day":
        return DAY
    raise ValueError(f"unknown document id {doc_id!r}")
