"""Reads of the catalog projections (never the documents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import apsw

from edge.app.catalog.schemas import Catalog
from edge.store import rowdata
from shared.schemas.documents import Category, Discount, Item, ModifierGroup, TaxRate


@dataclass(frozen=True)
class Kind:
    """One kind of catalog entity: its document collection (= projection table) and struct."""

    noun: str  # "item": audit entity type and messages
    table: str  # "items": collection in the catalog document and projection table
    struct: type[Any]
    order_by: str = "name COLLATE NOCASE, id"

    @property
    def path(self) -> str:
        return self.table.replace("_", "-")

    @property
    def a(self) -> str:
        """The noun with its article: "an item", "a category"."""
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"


TAX_RATES = Kind("tax rate", "tax_rates", TaxRate)
CATEGORIES = Kind("category", "categories", Category, "sort, name COLLATE NOCASE, id")
MODIFIER_GROUPS = Kind("modifier group", "modifier_groups", ModifierGroup)
ITEMS = Kind("item", "items", Item)
DISCOUNTS = Kind("discount", "discounts", Discount)

_WORD = re.compile(r"\w+")


def get(conn: apsw.Connection, kind: Kind, entity_id: str) -> Any | None:
    """One entity by id (archived or not), or None."""
    row = conn.execute(f"SELECT data FROM {kind.table} WHERE id = ?", (entity_id,)).fetchone()
    return rowdata.decode(row[0], kind.struct) if row else None


def list_all(conn: apsw.Connection, kind: Kind, include_archived: bool = False) -> list[Any]:
    """Every entity of a kind, archived ones only when asked for."""
    where = "" if include_archived else "WHERE archived = 0"
    rows = conn.execute(f"SELECT data FROM {kind.table} {where} ORDER BY {kind.order_by}")
    return [rowdata.decode(data, kind.struct) for (data,) in rows]


def unknown_ids(conn: apsw.Connection, kind: Kind, ids: list[str]) -> list[str]:
    """The ids among ``ids`` that name no live (unarchived) entity of ``kind``."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"SELECT id FROM {kind.table} WHERE archived = 0 AND id IN ({marks})", tuple(ids)
    )
    live = {entity_id for (entity_id,) in rows}
    return [entity_id for entity_id in ids if entity_id not in live]


def item_with(conn: apsw.Connection, column: str, value: str, other_than: str) -> str | None:
    """The id of another live item whose ``column`` (sku or barcode) is ``value``."""
    if column not in ("sku", "barcode"):
        raise ValueError(column)
    row = conn.execute(
        f"SELECT id FROM items WHERE {column} = ? AND archived = 0 AND id != ? LIMIT 1",
        (value, other_than),
    ).fetchone()
    return str(row[0]) if row else None


def fts_query(text: str) -> str | None:
    """An FTS5 expression matching every word of ``text`` as a prefix (None: no words)."""
    words = _WORD.findall(text)
    # Each word quoted, so FTS5 syntax (AND, NEAR, column:) typed by a person is plain text.
    return " ".join(f'"{word}"*' for word in words) or None


def find_items(
    conn: apsw.Connection,
    *,
    q: str | None = None,
    category_id: str | None = None,
    barcode: str | None = None,
    include_archived: bool = False,
) -> list[Item]:
    """Items matching every filter given: a name/SKU prefix search, a category, a barcode."""
    joins, where, params = "", [], []
    order = "items.name COLLATE NOCASE, items.id"
    if q and q.strip():
        expression = fts_query(q)
        if expression is None:
            return []
        joins = "JOIN items_fts ON items_fts.id = items.id"
        where.append("items_fts MATCH ?")
        params.append(expression)
        order = "items_fts.rank, items.name COLLATE NOCASE"
    if category_id is not None:
        where.append("items.category_id = ?")
        params.append(category_id)
    if barcode is not None:
        where.append("items.barcode = ?")
        params.append(barcode)
    if not include_archived:
        where.append("items.archived = 0")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT items.data FROM items {joins} {clause} ORDER BY {order}", tuple(params)
    )
    return [rowdata.decode(data, Item) for (data,) in rows]


def full_catalog(conn: apsw.Connection, include_archived: bool = False) -> Catalog:
    """The whole catalog for a tablet."""
    return Catalog(
        categories=list_all(conn, CATEGORIES, include_archived),
        items=list_all(conn, ITEMS, include_archived),
        modifier_groups=list_all(conn, MODIFIER_GROUPS, include_archived),
        tax_rates=list_all(conn, TAX_RATES, include_archived),
        discounts=list_all(conn, DISCOUNTS, include_archived),
    )
