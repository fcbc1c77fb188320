"""Discount commands: apply a catalog or ad-hoc discount to an order or a line, and remove one.

A discount above the store's thresholds (``discount_approval_percent`` / ``_minor``) needs
order.discount_large: a manager applies it, or approves a cashier's with their PIN inline. Line
discounts are judged against the line they reduce, order discounts against the order subtotal.
"""

from __future__ import annotations

import apsw
import msgspec

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.orders import queries, ticket
from edge.app.orders.schemas import DiscountApply
from edge.app.orders.service import OrderCommand, allow, approved_by
from edge.domain.discounts import check_discount, needs_approval
from edge.domain.errors import InvalidInput, NotFound
from edge.domain.money import parse_percent
from edge.domain.order import check_action, live_lines
from edge.domain.permissions import ORDER_DISCOUNT, ORDER_DISCOUNT_LARGE, require
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import AppliedDiscount, Order


def apply_discount(
    edge: Edge,
    actor: Actor,
    order_id: str,
    data: DiscountApply,
    approver: Actor | None = None,
) -> OrderCommand:
    """Apply a discount; above the thresholds it needs order.discount_large or an override."""
    require(actor.role, ORDER_DISCOUNT)
    new_id = data.id or uuid7()

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        if any(applied.id == new_id for applied in order.discounts):
            return order  # a retry
        allow(actor, check_action(order, "edit_lines"), None)
        applied = _applied(tx.conn, data, new_id)
        base_minor = _base_minor(order, applied.line_id)
        settings = edge.settings(tx.conn)
        approver_id = None
        large = needs_approval(
            applied,
            base_minor,
            parse_percent(settings.discount_approval_percent),
            settings.discount_approval_minor,
        )
        if large:
            approver_id = approved_by(actor, ORDER_DISCOUNT_LARGE, approver)
            # The discount remembers who let it through: the approver, or a manager acting alone.
            applied = msgspec.structs.replace(applied, approved_by=approver_id or actor.employee_id)
        order = msgspec.structs.replace(order, discounts=[*order.discounts, applied])
        detail = {"applied_id": applied.id, "name": applied.name, "line_id": applied.line_id}
        return ticket.record(
            tx, edge, actor, order, "discount_applied", approved_by=approver_id, detail=detail
        )

    return command


def remove_discount(edge: Edge, actor: Actor, order_id: str, applied_id: str) -> OrderCommand:
    """Take a discount (manual or automatic) off an open or sent order."""
    require(actor.role, ORDER_DISCOUNT)

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        allow(actor, check_action(order, "edit_lines"), None)
        kept = [applied for applied in order.discounts if applied.id != applied_id]
        if len(kept) == len(order.discounts):
            raise NotFound(
                f"order #{order.number} has no discount {applied_id}", applied_id=applied_id
            )
        order = msgspec.structs.replace(order, discounts=kept)
        detail = {"applied_id": applied_id}
        return ticket.record(tx, edge, actor, order, "discount_removed", detail=detail)

    return command


def _base_minor(order: Order, line_id: str | None) -> int:
    """What the discount is judged against: its line's amount, or the order subtotal."""
    if line_id is None:
        return order.totals.subtotal_minor
    for line in live_lines(order.lines):
        if line.id == line_id:
            return line.unit_price_minor * line.quantity
    raise InvalidInput(f"order #{order.number} has no live line {line_id}", line_id=line_id)


def _applied(conn: apsw.Connection, data: DiscountApply, applied_id: str) -> AppliedDiscount:
    if data.discount_id is None:
        return _ad_hoc(data, applied_id)
    if (data.name, data.kind, data.percent, data.amount_minor) != (None, None, None, None):
        raise InvalidInput("send either a discount_id or name, kind and value, not both")
    discount = queries.find_discount(conn, data.discount_id)
    if discount is None or discount.archived:
        raise InvalidInput(
            f"there is no discount {data.discount_id!r}", discount_id=data.discount_id
        )
    if discount.scope == "item" and data.line_id is None:
        raise InvalidInput(f"{discount.name!r} applies to a line: send its line_id")
    if discount.scope == "order" and data.line_id is not None:
        raise InvalidInput(f"{discount.name!r} applies to the whole order: send no line_id")
    percent = discount.percent if discount.kind == "percent" else None
    amount = discount.amount_minor if discount.kind == "amount" else None
    check_discount(discount.kind, percent, amount)
    return AppliedDiscount(
        id=applied_id,
        discount_id=discount.id,
        name=discount.name,
        kind=discount.kind,
        percent=percent,
        amount_minor=amount,
        line_id=data.line_id,
    )


def _ad_hoc(data: DiscountApply, applied_id: str) -> AppliedDiscount:
    if data.name is None or data.kind is None:
        raise InvalidInput("an ad-hoc discount needs a name and a kind (or send a discount_id)")
    unused = data.amount_minor if data.kind == "percent" else data.percent
    if unused is not None:
        other = "amount_minor" if data.kind == "percent" else "percent"
        raise InvalidInput(f"a {data.kind} discount takes no {other}", field=other)
    check_discount(data.kind, data.percent, data.amount_minor)
    return AppliedDiscount(
        id=applied_id,
        name=data.name,
        kind=data.kind,
        percent=data.percent,
        amount_minor=data.amount_minor,
        line_id=data.line_id,
    )
