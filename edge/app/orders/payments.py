"""Taking money on orders: cash with change, card and external tenders, split and partial.

Card here means "card recorded as taken": the amount was charged on a reader the tablet drives and
this records it. Forwarding card payments through the Stripe outbox (idempotency keys, offline
caps) is a later change; the payment id is already the key it will use.

Cash moves through the open till session of the main drawer: a cash sale or refund with no open
session is refused (409 ``drawer-closed``), and each leaves a ``DrawerEntry`` in the day document
of the day it happens (as the drawer area does), pointing at the payment or refund. The payment
itself lives in its order's day document.
"""

from __future__ import annotations

import apsw

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.drawer.queries import session_entries
from edge.app.drawer.till import append_entry, require_open_session
from edge.app.orders import queries, ticket
from edge.app.orders.schemas import (
    PaymentCreate,
    PaymentResult,
)
from edge.app.orders.service import BACK_OFFICE, Replayable, allow
from edge.domain.drawer import check_entry, expected_cash
from edge.domain.errors import Conflict, InvalidInput
from edge.domain.order import check_action
from edge.domain.permissions import PAYMENT_TAKE, require
from edge.domain.tenders import (
    TenderResult,
    take_card,
    take_cash,
    take_external,
)
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import (
    DrawerEntry,
    DrawerEntryKind,
    DrawerSession,
    Order,
    OrderTotals,
    Payment,
)


def take_payment(
    edge: Edge, actor: Actor, order_id: str, data: PaymentCreate
) -> Replayable[PaymentResult]:
    """Apply a cash, card or external tender; a known ``data.id`` returns the stored payment.

    A card payment is recorded as taken on the reader; the Stripe outbox comes later.
    """
    check_payment(actor, data)
    payment_id = data.id or uuid7()

    def run(tx: WriteTx) -> tuple[PaymentResult, bool]:
        # Only an id the tablet minted can be a retry (an id minted here is new).
        stored = None if data.id is None else _stored(tx.conn, payment_id, order_id)
        if stored is not None:
            return stored, True
        order = queries.get_order(tx.conn, order_id)
        return pay(tx, edge, actor, order, ticket.retotal(tx.conn, order), data, payment_id), False

    return Replayable(run)


def check_payment(actor: Actor, data: PaymentCreate) -> None:
    """What can be refused before the writer: the role, and the fields the tender needs."""
    require(actor.role, PAYMENT_TAKE)
    _check_tender_fields(data)


def pay(
    tx: WriteTx,
    edge: Edge,
    actor: Actor,
    order: Order,
    before: OrderTotals,
    data: PaymentCreate,
    payment_id: str,
) -> PaymentResult:
    """Take a tender on ``order`` (whose totals are ``before``): payment, till, order, audit."""
    allow(actor, check_action(order, "pay"), None)
    ticket.writable_day(tx, edge, order)
    taken = _tender(data, before.balance_minor)
    session = require_open_session(tx.conn) if data.tender == "cash" else None
    payment = Payment(
        id=payment_id,
        order_id=order.id,
        tender=data.tender,
        amount_minor=taken.amount_minor,
        tip_minor=taken.tip_minor,
        tendered_minor=taken.tendered_minor,
        change_minor=taken.change_minor,
        drawer_session_id=session.id if session else None,
        reference=data.reference,
        taken_by=actor.employee_id,
        device_id=actor.device_id or BACK_OFFICE,
        taken_at_ms=tx.at_ms,
    )
    tx.put(edge.day_doc(order.business_day), "payments", payment)
    if session is not None:
        # The tip stays in the till with the sale; the change went back to the customer.
        cash_in = taken.amount_minor + taken.tip_minor
        cash_entry(tx, edge, actor, session, "sale", cash_in, payment.id, None)
    # The payment itself (append-only) holds the amounts: the trail points at it.
    detail = {"payment_id": payment.id, "tender": payment.tender}
    order = ticket.record(
        tx,
        edge,
        actor,
        order,
        "payment_taken",
        detail=detail,
        totals=ticket.with_tender(before, payment.amount_minor, payment.tip_minor),
    )
    return PaymentResult(payment=payment, order=order, change_minor=payment.change_minor)


def _stored(conn: apsw.Connection, payment_id: str, order_id: str) -> PaymentResult | None:
    """The result of an earlier request with this payment id (a retry), if there was one."""
    existing = queries.find_payment(conn, payment_id)
    if existing is None:
        return None
    if existing.order_id != order_id:
        raise Conflict(f"payment {payment_id} belongs to another order", id=payment_id)
    order = queries.get_order(conn, order_id)
    return PaymentResult(payment=existing, order=order, change_minor=existing.change_minor)


def _check_tender_fields(data: PaymentCreate) -> None:
    if data.tender == "cash":
        if data.tendered_minor is None:
            raise InvalidInput(
                "cash needs tendered_minor: the cash handed over", field="tendered_minor"
            )
        if data.amount_minor is not None:
            raise InvalidInput("cash takes tendered_minor, not amount_minor", field="amount_minor")
        return
    if data.amount_minor is None:
        raise InvalidInput(f"a {data.tender} payment needs amount_minor", field="amount_minor")
    if data.tendered_minor is not None:
        raise InvalidInput(
            f"a {data.tender} payment takes amount_minor, not tendered_minor",
            field="tendered_minor",
        )


def _tender(data: PaymentCreate, balance_minor: int) -> TenderResult:
    if data.tender == "cash":
        assert data.tendered_minor is not None  # checked by _check_tender_fields
        return take_cash(balance_minor, data.tendered_minor, data.tip_minor)
    assert data.amount_minor is not None
    take = take_card if data.tender == "card" else take_external
    return take(balance_minor, data.amount_minor, data.tip_minor)


def cash_entry(
    tx: WriteTx,
    edge: Edge,
    actor: Actor,
    session: DrawerSession,
    kind: DrawerEntryKind,
    amount_minor: int,
    reference: str,
    approved_by: str | None,
) -> DrawerEntry:
    """Record cash into or out of the till, in the day document of the day it happens."""
    check_entry(kind, amount_minor, None)
    entry = DrawerEntry(
        id=uuid7(),
        session_id=session.id,
        kind=kind,
        amount_minor=amount_minor,
        reference=reference,
        by=actor.employee_id,
        approved_by=approved_by,
        at_ms=tx.at_ms,
    )
    append_entry(tx, edge, entry)
    return entry


def cash_available(conn: apsw.Connection, session: DrawerSession) -> int:
    """What the till should hold now (before this command's own entries)."""
    return expected_cash(session, session_entries(conn, [session.id]))
