"""Giving money back: refunds, and voiding an order.

Refunds need payment.refund (a manager, or a cashier with a manager's PIN) and are allowed on paid,
closed and partly refunded orders. A refund names the payment it reverses, or only the tender: it
goes back through a tender that paid the order, at most what that tender (and the payment named)
still holds; tips are not refunded (edge.domain.tenders.plan_refund). A refund naming only the
tender is linked to a payment of it that holds the whole amount. Cash comes out of the open till
(a drawer entry; 409 ``drawer-closed`` when none is open), never more than it should hold; card
and external refunds leave the till alone. The order then reads ``partially_refunded``, or
``refunded`` once it holds no money, with ``refunded_minor`` in its totals and a balance of 0.

Voiding: an open or sent order with no money on it needs order.void. A paid or closed order needs
order.void_paid (a manager's override) and is refused while it holds un-refunded payments (409):
the refunds say which tender gives what back, so they are made first, on purpose, one by one. An
open or sent order that took part payments cannot be refunded (the order state machine allows
refunds only once an order is paid), so voiding it gives each payment's remainder back through its
own tender in the same command, under order.void_paid. A refunded order may be voided too.
"""

from __future__ import annotations

import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.context import Edge, is_sealed
from edge.app.drawer.till import require_open_session
from edge.app.orders import queries, ticket
from edge.app.orders.payments import cash_available, cash_entry
from edge.app.orders.schemas import OrderVoid, RefundCreate, RefundResult
from edge.app.orders.service import BACK_OFFICE, OrderCommand, Replayable, allow
from edge.domain.drawer import check_entry
from edge.domain.errors import Conflict
from edge.domain.order import after_refund, check_action, transition
from edge.domain.tenders import plan_refund, refundable
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import Order, Payment, Refund, Tender


def refund_payment(
    edge: Edge, actor: Actor, order_id: str, data: RefundCreate, approver: Actor | None = None
) -> Replayable[RefundResult]:
    """Give money back on a paid or closed order; a known ``data.id`` returns the stored refund."""
    refund_id = data.id or uuid7()

    def run(tx: WriteTx) -> tuple[RefundResult, bool]:
        existing = queries.find_refund(tx.conn, refund_id)
        if existing is not None:
            if existing.order_id != order_id:
                raise Conflict(f"refund {refund_id} belongs to another order", id=refund_id)
            return RefundResult(refund=existing, order=queries.get_order(tx.conn, order_id)), True
        order = queries.get_order(tx.conn, order_id)
        approver_id = allow(actor, check_action(order, "refund"), approver)
        payments = queries.payments_of(tx.conn, order.id)
        earlier = queries.refunds_of(tx.conn, order.id)
        payment_id = plan_refund(
            payments,
            earlier,
            tender=data.tender,
            amount_minor=data.amount_minor,
            payment_id=data.payment_id,
        )
        amount = data.amount_minor
        given = _refund_entry(
            tx,
            edge,
            actor,
            order,
            refund_id,
            payment_id,
            data.tender,
            amount,
            data.reason,
            approver_id,
        )
        detail = {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "tender": data.tender,
            "amount_minor": amount,
            "reason": data.reason,
        }
        if is_sealed(tx.conn, edge.day_doc(order.business_day)):
            # A sealed day never changes: the order keeps the figures its day closed with, and
            # the refund (in today's document) is on today's Z report.
            audit(
                tx,
                edge,
                actor,
                "order.refunded",
                "order",
                order.id,
                approved_by=approver_id,
                detail={"number": order.number, **detail},
            )
            tx.publish("order.refunded", order)
        else:
            totals = ticket.retotal(tx.conn, order, ledger=_ledger(payments, [*earlier, given]))
            order = msgspec.structs.replace(
                order, state=after_refund(order.state, totals.paid_minor)
            )
            order = ticket.record(
                tx,
                edge,
                actor,
                order,
                "refunded",
                approved_by=approver_id,
                detail=detail,
                totals=totals,
            )
        return RefundResult(refund=given, order=order), False

    return Replayable(run)


def _ledger(payments: list[Payment], refunds: list[Refund]) -> queries.Ledger:
    """The order's money with this command's refunds included (the projections show them only
    after it returns), for ``ticket.retotal``."""
    refunded_minor = sum(r.amount_minor for r in refunds)
    return queries.Ledger(
        paid_minor=sum(p.amount_minor for p in payments) - refunded_minor,
        tip_minor=sum(p.tip_minor for p in payments),
        refunded_minor=refunded_minor,
    )


def _refund_entry(
    tx: WriteTx,
    edge: Edge,
    actor: Actor,
    order: Order,
    refund_id: str,
    payment_id: str | None,
    tender: Tender,
    amount_minor: int,
    reason: str,
    approved_by: str | None,
    cash_out_minor: int = 0,
) -> Refund:
    """Put one refund (and the cash leaving the till); ``cash_out_minor`` is this command's
    earlier cash refunds, which the projections do not show yet."""
    session = require_open_session(tx.conn) if tender == "cash" else None
    if session is not None:
        available = cash_available(tx.conn, session) - cash_out_minor
        check_entry("refund", amount_minor, None, available_minor=available)
        cash_entry(tx, edge, actor, session, "refund", amount_minor, refund_id, approved_by)
    given = Refund(
        id=refund_id,
        order_id=order.id,
        payment_id=payment_id,
        tender=tender,
        amount_minor=amount_minor,
        reason=reason,
        drawer_session_id=session.id if session else None,
        approved_by=approved_by,
        taken_by=actor.employee_id,
        device_id=actor.device_id or BACK_OFFICE,
        taken_at_ms=tx.at_ms,
    )
    day = order.business_day
    if is_sealed(tx.conn, edge.day_doc(day)):
        day = edge.open_day(tx.conn, tx.at_ms, edge.settings(tx.conn))
    tx.put(edge.day_doc(day), "refunds", given)
    return given


def void_order(
    edge: Edge, actor: Actor, order_id: str, data: OrderVoid, approver: Actor | None = None
) -> OrderCommand:
    """Void an order (see the module docstring for who may, and what happens to its money)."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        if order.state == "voided":
            return order  # a retry
        paid_minor = queries.ledger(tx.conn, order.id).paid_minor
        rule = check_action(order, "void")
        if paid_minor > 0 and order.state not in ("open", "sent"):
            raise Conflict(
                f"order #{order.number} still holds {paid_minor} in payments: refund them first",
                paid_minor=paid_minor,
            )
        ticket.writable_day(tx, edge, order)
        approver_id = allow(actor, rule, approver)
        payments = queries.payments_of(tx.conn, order.id)
        earlier = queries.refunds_of(tx.conn, order.id)
        returned = _return_part_payments(tx, edge, actor, order, data.reason, approver_id)
        state = transition(order.state, "void", paid_minor=paid_minor)
        order = msgspec.structs.replace(
            order, state=state, void_reason=data.reason, closed_at_ms=tx.at_ms
        )
        detail = {"reason": data.reason, "refund_ids": [r.id for r in returned]}
        return ticket.record(
            tx,
            edge,
            actor,
            order,
            "voided",
            approved_by=approver_id,
            detail=detail,
            totals=ticket.retotal(tx.conn, order, ledger=_ledger(payments, [*earlier, *returned])),
        )

    return command


def _return_part_payments(
    tx: WriteTx, edge: Edge, actor: Actor, order: Order, reason: str, approved_by: str | None
) -> list[Refund]:
    """Refund what each payment of an open or sent order still holds, through its own tender."""
    left_minor = queries.ledger(tx.conn, order.id).paid_minor
    payments = queries.payments_of(tx.conn, order.id)
    refunds = queries.refunds_of(tx.conn, order.id)
    returned: list[Refund] = []
    cash_out_minor = 0
    for payment in payments:
        amount = min(refundable(payments, refunds, payment.id), left_minor)
        if amount <= 0:
            continue
        given = _refund_entry(
            tx,
            edge,
            actor,
            order,
            uuid7(),
            payment.id,
            payment.tender,
            amount,
            f"order voided: {reason}",
            approved_by,
            cash_out_minor,
        )
        returned.append(given)
        left_minor -= amount
        if payment.tender == "cash":
            cash_out_minor += amount
    return returned
