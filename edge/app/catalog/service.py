"""Catalog commands: create, patch and archive entities of the org's catalog document.

Edits write only the fields a request names (``tx.patch``), so a manager changing a price here and
the owner renaming the same item in the cloud both keep their change after the documents merge.
An entity is validated whole (the stored fields merged with the edit), but references are checked
only where the request sets them: an item in a since-archived category can still be repriced.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import apsw
import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.catalog import queries
from edge.app.catalog.queries import CATEGORIES, DISCOUNTS, ITEMS, MODIFIER_GROUPS, TAX_RATES, Kind
from edge.app.context import Edge
from edge.domain.business_day import parse_hhmm
from edge.domain.discounts import check_discount
from edge.domain.errors import Conflict, InvalidInput, NotFound
from edge.domain.money import check_minor, parse_rate
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import (
    Category,
    Discount,
    Item,
    ModifierGroup,
    TaxRate,
    TimeWindow,
    catalog_doc,
)

Command = Callable[[WriteTx], Any]
_NESTED = ("options", "variants")  # lists of sub-entities that carry their own ids


def create_entity(edge: Edge, actor: Actor, kind: Kind, data: msgspec.Struct) -> Command:
    """A command creating an entity; it returns ``(entity, created)``.

    Repeating a create with the same client-born id and the same content returns the existing
    entity (``created`` False), so a tablet may retry after a lost answer; other content is a 409.
    """
    values: dict[str, Any] = msgspec.to_builtins(data)
    entity_id = str(values.pop("id", None) or uuid7()).lower()

    def command(tx: WriteTx) -> tuple[Any, bool]:
        current = queries.get(tx.conn, kind, entity_id)
        entity = _build(tx.conn, kind, {**values, "id": entity_id}, current, set(values))
        if current is not None:
            if current == entity:
                return current, False
            raise Conflict(f"{kind.a.capitalize()} {entity_id} already exists.", id=entity_id)
        tx.put(catalog_doc(edge.org_id), kind.table, entity)
        _record(tx, edge, actor, kind, "create", entity_id, {"name": entity.name})
        return entity, True

    return command


def patch_entity(
    edge: Edge, actor: Actor, kind: Kind, entity_id: str, data: msgspec.Struct
) -> Command:
    """A command changing only the fields given in ``data``; it returns the entity."""
    changes: dict[str, Any] = msgspec.to_builtins(data)  # UNSET fields are left out

    def command(tx: WriteTx) -> Any:
        current = _existing(tx.conn, kind, entity_id)
        if not changes:
            return current
        merged = {**msgspec.to_builtins(current), **changes}
        entity = _build(tx.conn, kind, merged, current, set(changes))
        fields = {name: getattr(entity, name) for name in changes}
        tx.patch(catalog_doc(edge.org_id), kind.table, entity_id, fields)
        _record(tx, edge, actor, kind, "update", entity_id, {"fields": sorted(changes)})
        return entity

    return command


def archive_entity(edge: Edge, actor: Actor, kind: Kind, entity_id: str) -> Command:
    """A command archiving an entity (hidden from tablets, kept for history); idempotent."""

    def command(tx: WriteTx) -> None:
        if _existing(tx.conn, kind, entity_id).archived:
            return
        tx.patch(catalog_doc(edge.org_id), kind.table, entity_id, {"archived": True})
        _record(tx, edge, actor, kind, "archive", entity_id, {})

    return command


def _existing(conn: apsw.Connection, kind: Kind, entity_id: str) -> Any:
    entity = queries.get(conn, kind, entity_id)
    if entity is None:
        raise NotFound(f"There is no {kind.noun} {entity_id}.", id=entity_id)
    return entity


def _record(
    tx: WriteTx,
    edge: Edge,
    actor: Actor,
    kind: Kind,
    verb: str,
    entity_id: str,
    detail: dict[str, Any],
) -> None:
    noun = kind.noun.replace(" ", "_")
    audit(tx, edge, actor, f"{noun}.{verb}", noun, entity_id, detail=detail)
    tx.publish("catalog.changed", {"kind": kind.table, "id": entity_id, "action": verb})


def _build(
    conn: apsw.Connection, kind: Kind, values: dict[str, Any], current: Any, changed: set[str]
) -> Any:
    """The validated, normalised entity of ``values`` (``changed``: the fields a request set)."""
    for name in _NESTED:
        if name in changed:
            values[name] = _with_ids(values[name], getattr(current, name, []), name)
    entity = msgspec.convert(values, kind.struct)
    return _CHECKS[kind.table](conn, entity, changed)


def _with_ids(entries: list[dict[str, Any]], old: list[Any], field: str) -> list[dict[str, Any]]:
    """Give each sub-entity an id: its own, the old one of the same name, or a new one."""
    old_ids = {entry.name: entry.id for entry in old}
    names, ids = set(), set()
    for entry in entries:
        if entry.get("id") is None:
            entry["id"] = old_ids.get(entry["name"]) or uuid7()
        entry["id"] = entry["id"].lower()
        if entry["name"] in names or entry["id"] in ids:
            raise InvalidInput(f"{field} lists {entry['name']!r} twice", field=field)
        names.add(entry["name"])
        ids.add(entry["id"])
    return entries


def _refs(conn: apsw.Connection, kind: Kind, ids: list[str], field: str) -> None:
    """Refuse ids that name no live entity of ``kind``, or the same one twice."""
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"{field} lists an id twice", field=field)
    missing = queries.unknown_ids(conn, kind, ids)
    if missing:
        raise InvalidInput(
            f"{field}: there is no {kind.noun} {missing[0]}", field=field, value=missing[0]
        )


def plain(value: Decimal) -> str:
    """A Decimal as plain text ("1E+1" -> "10"), the form kept in documents."""
    return format(value, "f")


def _check_tax_rate(conn: apsw.Connection, rate: TaxRate, changed: set[str]) -> TaxRate:
    return msgspec.structs.replace(rate, rate=plain(parse_rate(rate.rate)))


def _check_category(conn: apsw.Connection, category: Category, changed: set[str]) -> Category:
    if "tax_rate_ids" in changed:
        _refs(conn, TAX_RATES, category.tax_rate_ids, "tax_rate_ids")
    return category


def _check_group(conn: apsw.Connection, group: ModifierGroup, changed: set[str]) -> ModifierGroup:
    if group.min_select > group.max_select:
        raise InvalidInput("min_select must not be above max_select", field="min_select")
    if group.min_select > len(group.options):
        raise InvalidInput("a required group needs at least min_select options", field="options")
    for option in group.options:
        check_minor(option.price_delta_minor, "price_delta_minor", allow_negative=True)
    return group


def _check_item(conn: apsw.Connection, item: Item, changed: set[str]) -> Item:
    check_minor(item.price_minor, "price_minor")
    for variant in item.variants:
        check_minor(variant.price_minor, "variants.price_minor")
    if "category_id" in changed:
        _refs(conn, CATEGORIES, [item.category_id], "category_id")
    if "modifier_group_ids" in changed:
        _refs(conn, MODIFIER_GROUPS, item.modifier_group_ids, "modifier_group_ids")
    if "tax_rate_ids" in changed and item.tax_rate_ids is not None:
        _refs(conn, TAX_RATES, item.tax_rate_ids, "tax_rate_ids")
    for column in ("sku", "barcode"):
        value = getattr(item, column)
        if value is not None and column in changed:
            other = queries.item_with(conn, column, value, item.id)
            if other is not None:
                raise Conflict(f"Item {other} already has {column} {value!r}.", field=column)
    return item


def _check_discount(conn: apsw.Connection, discount: Discount, changed: set[str]) -> Discount:
    value = check_discount(discount.kind, discount.percent, discount.amount_minor)
    # The field a kind does not use may be stale after a merge; a request must not set it.
    unused = "amount_minor" if discount.kind == "percent" else "percent"
    if unused in changed and getattr(discount, unused) is not None:
        raise InvalidInput(f"a {discount.kind} discount takes no {unused}", field=unused)
    if isinstance(value, Decimal):
        discount = msgspec.structs.replace(discount, percent=plain(value))
    if discount.window is not None:
        if discount.scope != "item":
            raise InvalidInput("only item-scope discounts take a time window", field="window")
        discount = msgspec.structs.replace(discount, window=_check_window(discount.window))
    if "item_ids" in changed:
        _refs(conn, ITEMS, discount.item_ids, "item_ids")
    if "category_ids" in changed:
        _refs(conn, CATEGORIES, discount.category_ids, "category_ids")
    return discount


def _check_window(window: TimeWindow) -> TimeWindow:
    parse_hhmm(window.start)
    if window.end != "24:00":
        parse_hhmm(window.end)
    return msgspec.structs.replace(window, weekdays=sorted(set(window.weekdays)))


_CHECKS: dict[str, Callable[[apsw.Connection, Any, set[str]], Any]] = {
    TAX_RATES.table: _check_tax_rate,
    CATEGORIES.table: _check_category,
    MODIFIER_GROUPS.table: _check_group,
    ITEMS.table: _check_item,
    DISCOUNTS.table: _check_discount,
}
