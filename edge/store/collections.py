"""Where each root of each kind of document lands in the appliance's tables.

What a document holds and how its entries are encoded is shared.schemas.layout's, one table for
both sides; this adds the projection table each root feeds and the struct attributes copied into
its columns (a flat root lands in ``doc_values``).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from shared.schemas import layout
from shared.schemas.layout import Mode, Root


@dataclass(frozen=True)
class Collection:
    """One named root Map of a document and the projection table it feeds."""

    name: str
    mode: Mode
    struct: type[msgspec.Struct] | None = None  # None: flat values land in doc_values
    table: str | None = None
    columns: tuple[str, ...] = ()  # struct attributes copied into table columns


# root name -> (its table, the columns copied into it)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tax_rates": ("tax_rates", ("name", "rate", "archived")),
    "categories": ("categories", ("name", "sort", "archived")),
    "items": ("items", ("name", "category_id", "price_minor", "sku", "barcode", "archived")),
    "modifier_groups": ("modifier_groups", ("name", "archived")),
    "discounts": ("discounts", ("name", "archived")),
    "employees": ("employees", ("name", "role", "email", "pin_tag", "active")),
    "orders": (
        "orders",
        ("business_day", "number", "state", "device_id", "opened_by", "opened_at_ms",
         "updated_at_ms"),
    ),
    "payments": (
        "payments",
        ("order_id", "tender", "amount_minor", "tip_minor", "change_minor", "drawer_session_id",
         "taken_at_ms"),
    ),
    "refunds": (
        "refunds",
        ("order_id", "payment_id", "tender", "amount_minor", "drawer_session_id", "taken_at_ms"),
    ),
    "drawer_sessions": ("drawer_sessions", ("drawer_id", "state", "opened_at_ms")),
    "drawer_entries": ("drawer_entries", ("session_id", "kind", "amount_minor", "at_ms")),
    "audit": (
        "audit",
        ("at_ms", "actor_id", "device_id", "action", "entity_type", "entity_id", "approved_by"),
    ),
    "pins": ("store_pins", ("pin_tag",)),
}  # fmt: skip


def _collection(root: Root) -> Collection:
    if root.mode == "flat":
        return Collection(root.name, root.mode)
    table, columns = TABLES[root.name]
    return Collection(root.name, root.mode, root.struct, table, columns)


_KINDS = {kind: tuple(_collection(r) for r in roots) for kind, roots in layout.ROOTS.items()}
CATALOG, PEOPLE, SETTINGS, DAY = (_KINDS[k] for k in ("catalog", "people", "settings", "day"))
_BY_NAME = {c.name: c for colls in _KINDS.values() for c in colls}


def collection(name: str) -> Collection:
    """The collection called ``name`` (KeyError for a name no document holds)."""
    return _BY_NAME[name]


def doc_collections(doc_id: str) -> tuple[Collection, ...]:
    """The collections a document holds, from the shape of its id (ValueError for an id no
    document has)."""
    kind = layout.doc_kind(doc_id)
    if kind is None:
        raise ValueError(f"unknown document id {doc_id!r}")
    return _KINDS[kind]
