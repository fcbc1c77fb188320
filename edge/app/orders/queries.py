"""Reads of the order, payment and catalog projections that the orders area needs.

Every function takes a connection: the writer's (inside a command, seeing the batch so far) or a
request thread's reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, TypeVar

import apsw
import msgspec

from edge.domain.errors import NotFound
from edge.store import rowdata
from edge.store.memo import memo_of, memoised
from shared.schemas.documents import (
    Category,
    Discount,
    Entity,
    Item,
    ModifierGroup,
    Order,
    OrderState,
    Payment,
    Refund,
    TaxRate,
)

E = TypeVar("E", bound=Entity)


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def _by_ids(conn: apsw.Connection, table: str, ids: Iterable[str], type_: type[E]) -> dict[str, E]:
    """Catalog entities by id (those that exist); memoised per id in the writer."""
    wanted = list(dict.fromkeys(ids))
    memo = memo_of(conn)
    if memo is None:
        return _query_ids(conn, table, wanted, type_)
    known = memo.bucket(table)  # id -> entity, or None for an id with no row
    missing = [i for i in wanted if i not in known]
    if missing:
        found = _query_ids(conn, table, missing, type_)
        known.update((i, found.get(i)) for i in missing)
    return {i: e for i in wanted if (e := known[i]) is not None}


def _query_ids(conn: apsw.Connection, table: str, ids: list[str], type_: type[E]) -> dict[str, E]:
    if not ids:
        return {}
    rows = conn.execute(f"SELECT data FROM {table} WHERE id IN ({_marks(ids)})", ids)
    return {entity.id: entity for entity in rowdata.decode_rows(rows, type_)}


def find_order(conn: apsw.Connection, order_id: str) -> Order | None:
    """One order, or None."""
    row = conn.execute("SELECT data FROM orders WHERE id = ?", (order_id,)).fetchone()
    return rowdata.decode(row[0], Order) if row else None


def get_order(conn: apsw.Connection, order_id: str) -> Order:
    """One order; NotFound when there is none."""
    order = find_order(conn, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    return order


def list_orders(
    conn: apsw.Connection,
    state: OrderState | None,
    day: str | None,
    limit: int,
    after: tuple[int, str] | None = None,
) -> list[Order]:
    """Orders, newest first, optionally of one state and/or business day, those after the
    (opened_at_ms, id) ``after`` only."""
    # Only the filters given, so SQLite can seek an index (state, or day) instead of reading
    # every order the store ever took: "(? IS NULL OR state = ?)" scans the whole table.
    filters = {"state": state, "business_day": day}
    given = {column: value for column, value in filters.items() if value is not None}
    clauses = [f"{column} = ?" for column in given]
    args: list[object] = list(given.values())
    if after is not None:
        clauses.append("(opened_at_ms, id) < (?, ?)")
        args += after
    where = " AND ".join(clauses) or "1 = 1"
    sql = f"SELECT data FROM orders WHERE {where} ORDER BY opened_at_ms DESC, id DESC LIMIT ?"
    return rowdata.decode_rows(conn.execute(sql, (*args, limit)), Order)


def next_number(conn: apsw.Connection, business_day: str) -> int:
    """The next human order number of a business day (#1 for its first order)."""
    # ORDER BY ... LIMIT 1 seeks the end of the (business_day, number) index; max() with a
    # WHERE scans every order of the day, a cost that grew with each sale of a busy day.
    row = conn.execute(
        "SELECT number FROM orders WHERE business_day = ? ORDER BY number DESC LIMIT 1",
        (business_day,),
    ).fetchone()
    return int(row[0]) + 1 if row else 1


def line_orders(conn: apsw.Connection, line_ids: list[str]) -> dict[str, str]:
    """line id -> the order holding it, for the ids already in use."""
    if not line_ids:
        return {}
    rows = conn.execute(
        f"SELECT id, order_id FROM order_lines WHERE id IN ({_marks(line_ids)})", line_ids
    )
    return {str(line_id): str(order_id) for line_id, order_id in rows}


def payments_of(conn: apsw.Connection, order_id: str) -> list[Payment]:
    """The payments of an order, in the order they were taken."""
    rows = conn.execute(
        "SELECT data FROM payments WHERE order_id = ? ORDER BY taken_at_ms, id", (order_id,)
    )
    return rowdata.decode_rows(rows, Payment)


def refunds_of(conn: apsw.Connection, order_id: str) -> list[Refund]:
    """The refunds of an order, in the order they were given."""
    rows = conn.execute(
        "SELECT data FROM refunds WHERE order_id = ? ORDER BY taken_at_ms, id", (order_id,)
    )
    return rowdata.decode_rows(rows, Refund)


def find_payment(conn: apsw.Connection, payment_id: str) -> Payment | None:
    """One payment, or None."""
    row = conn.execute("SELECT data FROM payments WHERE id = ?", (payment_id,)).fetchone()
    return rowdata.decode(row[0], Payment) if row else None


def find_refund(conn: apsw.Connection, refund_id: str) -> Refund | None:
    """One refund, or None."""
    row = conn.execute("SELECT data FROM refunds WHERE id = ?", (refund_id,)).fetchone()
    return rowdata.decode(row[0], Refund) if row else None


class Ledger(NamedTuple):
    """The money of an order: applied net of refunds, tips, and what went back."""

    paid_minor: int
    tip_minor: int
    refunded_minor: int


def ledger(conn: apsw.Connection, order_id: str) -> Ledger:
    """An order's money from its payments and refunds."""
    row = conn.execute(
        "SELECT (SELECT coalesce(sum(amount_minor), 0) FROM payments WHERE order_id = ?1),"
        " (SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE order_id = ?1),"
        " (SELECT coalesce(sum(tip_minor), 0) FROM payments WHERE order_id = ?1)",
        (order_id,),
    ).fetchone()
    paid, refunded, tip = (int(v) for v in row) if row else (0, 0, 0)
    return Ledger(paid_minor=paid - refunded, tip_minor=tip, refunded_minor=refunded)


class Catalog(msgspec.Struct, kw_only=True):
    """The slice of the catalog needed to price some items."""

    items: dict[str, Item]
    groups: dict[str, ModifierGroup]
    categories: dict[str, Category]
    taxes: dict[str, TaxRate]


def catalog_for(conn: apsw.Connection, item_ids: Iterable[str]) -> Catalog:
    """The items asked for (those that exist) with their groups, categories and tax rates."""
    items = _by_ids(conn, "items", item_ids, Item)
    groups = _by_ids(
        conn,
        "modifier_groups",
        (g for i in items.values() for g in i.modifier_group_ids),
        ModifierGroup,
    )
    categories = _by_ids(conn, "categories", (i.category_id for i in items.values()), Category)
    rate_ids = [r for i in items.values() for r in i.tax_rate_ids or []]
    rate_ids += [r for c in categories.values() for r in c.tax_rate_ids]
    taxes = _by_ids(conn, "tax_rates", rate_ids, TaxRate)
    return Catalog(items=items, groups=groups, categories=categories, taxes=taxes)


def item_categories(conn: apsw.Connection, item_ids: Iterable[str]) -> dict[str, str]:
    """item id -> category id, for the items that exist."""
    return {i.id: i.category_id for i in _by_ids(conn, "items", item_ids, Item).values()}


def live_discounts(conn: apsw.Connection) -> list[Discount]:
    """Catalog discounts that are not archived (the automatic rules are among them)."""
    return memoised(
        conn,
        "discounts",
        "live",
        lambda: rowdata.decode_rows(
            conn.execute("SELECT data FROM discounts WHERE archived = 0"), Discount
        ),
    )


def find_discount(conn: apsw.Connection, discount_id: str) -> Discount | None:
    """One catalog discount, or None."""
    return _by_ids(conn, "discounts", [discount_id], Discount).get(discount_id)
