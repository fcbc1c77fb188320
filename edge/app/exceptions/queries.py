"""Reconciliation exceptions, read from the projections (so derived from the documents: a rebuild
recomputes them, nothing is stored beside them).

One kind so far: an order number repeated within a business day. Numbers are assigned here, per
store and day, from the orders this appliance holds; two appliances selling for one store before
the old one was cut off (or a store restored from a backup selling offline) can both take the
next number. Both orders are kept, as the CRDT keeps every sale: this list is how a manager
learns that two receipts carry one number, never a silent renumbering.
"""

from __future__ import annotations

from typing import Final, Literal, cast

import apsw
import msgspec

DUPLICATE_NUMBER: Final = "duplicate-order-number"

# GROUP BY walks the (business_day, number) index alone (a covering scan, no table rows).
_GROUPS = (
    "SELECT business_day, number FROM orders{where} GROUP BY business_day, number"
    " HAVING count(*) > 1"
)


class ExceptionOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One of the orders sharing a number."""

    id: str
    state: str
    total_minor: int
    paid_minor: int
    device_id: str  # the tablet (or back office) that opened it
    device_name: str | None  # None: not a tablet paired with this appliance
    opened_by: str
    opened_at_ms: int


class DuplicateNumber(msgspec.Struct, frozen=True, kw_only=True):
    """Two or more orders of one business day with the same number."""

    kind: Literal["duplicate-order-number"] = DUPLICATE_NUMBER
    business_day: str
    number: int
    orders: list[ExceptionOrder]


def duplicate_numbers(
    conn: apsw.Connection, day: str | None, limit: int, after: tuple[int, str] | None = None
) -> list[DuplicateNumber]:
    """Repeated numbers, the latest day first (of one ``day`` if given), at most ``limit``; with
    ``after`` (number, day), those listed after that one only."""
    clauses: list[str] = []
    args: list[object] = []
    if day is not None:
        clauses.append("business_day = ?")
        args.append(day)
    if after is not None:
        number, after_day = after
        clauses.append("(business_day < ? OR (business_day = ? AND number > ?))")
        args += [after_day, after_day, number]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    groups = conn.execute(
        f"{_GROUPS.format(where=where)} ORDER BY business_day DESC, number LIMIT ?",
        (*args, limit),
    ).fetchall()
    pairs = [(str(d), cast(int, n)) for d, n in groups]
    return [DuplicateNumber(business_day=d, number=n, orders=_orders(conn, d, n)) for d, n in pairs]


def count_duplicate_numbers(conn: apsw.Connection) -> int:
    """How many (business day, number) pairs are held by more than one order."""
    (count,) = conn.execute(f"SELECT count(*) FROM ({_GROUPS.format(where='')})").fetchall()[0]
    return cast(int, count)


def _orders(conn: apsw.Connection, day: str, number: int) -> list[ExceptionOrder]:
    rows = conn.execute(
        "SELECT o.id, o.state, o.total_minor, o.paid_minor, o.device_id, d.name, o.opened_by,"
        " o.opened_at_ms FROM orders o LEFT JOIN devices d ON d.id = o.device_id"
        " WHERE o.business_day = ? AND o.number = ? ORDER BY o.opened_at_ms, o.id",
        (day, number),
    )
    return [
        ExceptionOrder(**dict(zip(ExceptionOrder.__struct_fields__, r, strict=True))) for r in rows
    ]
