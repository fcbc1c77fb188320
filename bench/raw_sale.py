"""The physical references: a sale written with plain SQL on apsw, nothing else.

Same file layout as the edge (the edge's own migrations: same tables and indexes), same pragmas
(WAL, ``synchronous=NORMAL``, busy timeout, checkpoints in the background), one commit per sale.

* ``sell``: an ``orders`` row, three ``order_lines`` rows and a ``payments`` row, each with its
  JSON ``data`` - the rows a sale is about;
* ``sell_every_row``: those plus every other row the edge's sale writes by design - the till's
  ``drawer_entries`` row, the ``audit`` row and the ``crdt_update`` log row (a body of the same
  content, hashed as the log hashes it).

No documents and no rules in either: what is left is the cost of the rows and the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw

from edge.store.background import Background, checkpointer
from edge.store.db import connect, db_path
from edge.store.projection import encode
from edge.store.store import create
from shared.ids import now_ms, uuid7
from shared.schemas import compact
from shared.schemas.documents import (
    AuditEntry,
    DrawerEntry,
    Order,
    OrderLine,
    OrderTotals,
    Payment,
)
from shared.schemas.sync import update_hash

DAY = "2000-01-01"  # one business day for every raw sale, as a café's day would be
DEVICE = "bench-device"
CLERK = "bench-clerk"
SESSION = "bench-till-session"
# (item id, name, unit price, quantity): the three lines of every raw sale
LINES = [
    ("latte", "Latte", 340, 1),
    ("croissant", "Croissant", 280, 2),
    ("espresso", "Espresso", 220, 1),
]


def prepare(data_dir: Path) -> tuple[Path, Background]:
    """Create an empty store file with the edge schema and start its background checkpoints."""
    create(data_dir)
    path = db_path(data_dir)
    background = checkpointer(path)
    background.start()
    return path, background


def open_writer(path: Path) -> apsw.Connection:
    """A connection configured exactly like the edge's writer."""
    return connect(path, writer=True)


def insert_order(conn: apsw.Connection, lines: list[tuple[str, str, int, int]]) -> Order:
    """Insert an order and its lines (inside the caller's transaction); return the order."""
    at_ms = now_ms()
    row = conn.execute(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM orders WHERE business_day = ?", (DAY,)
    ).fetchone()
    number = int(row[0]) if row else 1
    order_lines = [
        OrderLine(id=uuid7(), item_id=item, name=name, unit_price_minor=price, quantity=qty)
        for item, name, price, qty in lines
    ]
    total = sum(line.unit_price_minor * line.quantity for line in order_lines)
    order = Order(
        id=uuid7(),
        number=number,
        business_day=DAY,
        lines=order_lines,
        currency="GBP",
        totals=OrderTotals(subtotal_minor=total, total_minor=total, balance_minor=total),
        device_id=DEVICE,
        opened_by=CLERK,
        opened_at_ms=at_ms,
        updated_at_ms=at_ms,
    )
    conn.execute(
        "INSERT INTO orders (id, doc_id, business_day, number, state, total_minor, paid_minor,"
        " balance_minor, device_id, opened_by, opened_at_ms, updated_at_ms, data)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        (
            order.id,
            DAY,
            DAY,
            number,
            order.state,
            total,
            total,
            DEVICE,
            CLERK,
            at_ms,
            at_ms,
            encode(order),
        ),
    )
    conn.executemany(
        "INSERT INTO order_lines (id, order_id, item_id, name, quantity, unit_price_minor, sent,"
        " voided) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
        [
            (ln.id, order.id, ln.item_id, ln.name, ln.quantity, ln.unit_price_minor)
            for ln in order_lines
        ],
    )
    return order


def insert_payment(conn: apsw.Connection, order_id: str, amount_minor: int) -> Payment:
    """Insert a cash payment of the exact amount (inside the caller's transaction)."""
    at_ms = now_ms()
    payment = Payment(
        id=uuid7(),
        order_id=order_id,
        tender="cash",
        amount_minor=amount_minor,
        tendered_minor=amount_minor,
        taken_by=CLERK,
        device_id=DEVICE,
        taken_at_ms=at_ms,
    )
    conn.execute(
        "INSERT INTO payments (id, doc_id, order_id, tender, amount_minor, tip_minor,"
        " change_minor, drawer_session_id, taken_at_ms, data) VALUES (?, ?, ?, ?, ?, 0, 0, NULL,"
        " ?, ?)",
        (payment.id, DAY, order_id, "cash", amount_minor, at_ms, encode(payment)),
    )
    return payment


@contextmanager
def immediate(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """One write transaction, taken up front (no read-to-write upgrade to fail under load)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def sell(conn: apsw.Connection) -> None:
    """One whole sale in one transaction: order, three lines, cash payment, commit."""
    with immediate(conn):
        order = insert_order(conn, LINES)
        insert_payment(conn, order.id, order.totals.total_minor)


def sell_every_row(conn: apsw.Connection) -> None:
    """One sale with every row the edge writes for it, in one transaction."""
    with immediate(conn):
        order = insert_order(conn, LINES)
        payment = insert_payment(conn, order.id, order.totals.total_minor)
        entry = insert_drawer_entry(conn, payment)
        # One command on one order: one audit entry, the payment as its second step.
        step = {"action": "order.payment_taken", "payment_id": payment.id, "tender": "cash"}
        sold = insert_audit(
            conn, "order.created", order.id, {"number": order.number, "lines": 3, "then": [step]}
        )
        # What the document update carries: the same entries, in the same compact encoding.
        body = b"".join(compact.encode(v) for v in (order, payment, entry, sold))
        conn.execute(
            "INSERT INTO crdt_update (doc_id, hash, body, origin, at_ms) VALUES (?, ?, ?, ?, ?)",
            (DAY, update_hash(body), body, "local", now_ms()),
        )


def insert_drawer_entry(conn: apsw.Connection, payment: Payment) -> DrawerEntry:
    entry = DrawerEntry(
        id=uuid7(),
        session_id=SESSION,
        kind="sale",
        amount_minor=payment.amount_minor,
        reference=payment.id,
        by=CLERK,
        at_ms=payment.taken_at_ms,
    )
    conn.execute(
        "INSERT INTO drawer_entries (id, doc_id, session_id, kind, amount_minor, at_ms, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entry.id, DAY, SESSION, "sale", entry.amount_minor, entry.at_ms, encode(entry)),
    )
    return entry


def insert_audit(
    conn: apsw.Connection, action: str, order_id: str, detail: dict[str, Any]
) -> AuditEntry:
    entry = AuditEntry(
        id=uuid7(),
        at_ms=now_ms(),
        actor_id=CLERK,
        device_id=DEVICE,
        action=action,
        entity_type="order",
        entity_id=order_id,
        detail=detail,
    )
    conn.execute(
        "INSERT INTO audit (id, doc_id, at_ms, actor_id, device_id, action, entity_type,"
        " entity_id, approved_by, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        (entry.id, DAY, entry.at_ms, CLERK, DEVICE, action, "order", order_id, encode(entry)),
    )
    return entry


def seller(path: Path, every_row: bool = False) -> tuple[Callable[[], None], Callable[[], None]]:
    """A sale function on a fresh connection of this thread, and the cleanup that closes it."""
    conn = open_writer(path)
    sale = sell_every_row if every_row else sell
    return (lambda: sale(conn)), conn.close
