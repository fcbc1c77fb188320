"""Ringing up and paying in one step: the quick-service sale.

A café counter rings the items up and takes the money at once. ``POST /orders`` with ``payments``
does both in one writer command — one round trip, one commit — and all or nothing: a payment that
is refused (no till open for cash, a card amount over the balance) leaves no order behind.
"""

from __future__ import annotations

import msgspec

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.orders import payments, queries, service
from edge.app.orders.schemas import OrderCreate, OrderDetail
from edge.app.orders.service import Replayable
from edge.domain.errors import Conflict, InvalidInput
from edge.store.writer import WriteTx
from shared.ids import uuid7


def open_order(edge: Edge, actor: Actor, data: OrderCreate) -> Replayable[OrderDetail]:
    """Open an order and take ``data.payments`` on it; a known ``data.id`` replays the order."""
    create = service.create_order(edge, actor, data)
    for tender in data.payments:
        payments.check_payment(actor, tender)
    payment_ids = [tender.id or uuid7() for tender in data.payments]
    if len(set(payment_ids)) != len(payment_ids):
        raise InvalidInput("two payments of the request share one id", payment_ids=payment_ids)

    def run(tx: WriteTx) -> tuple[OrderDetail, bool]:
        order = create(tx)
        if create.replayed:
            return service.order_detail(tx.conn, order.id), True
        taken = []
        for tender, payment_id in zip(data.payments, payment_ids, strict=True):
            # An id minted here is new; one the tablet sent may be another payment's.
            if tender.id is not None and queries.find_payment(tx.conn, payment_id) is not None:
                raise Conflict(f"payment id {payment_id} is already used", id=payment_id)
            # The order as the step before left it: nothing here needs to read it back, so its
            # document and projection are written once, with the last state, when the command ends.
            result = payments.pay(tx, edge, actor, order, order.totals, tender, payment_id)
            taken.append(result.payment)
            order = result.order
        return OrderDetail(**msgspec.structs.asdict(order), payments=taken), False

    return Replayable(run)
