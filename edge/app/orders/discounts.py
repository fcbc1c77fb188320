"""Discount commands: apply a catalog or ad-hoc discount to an order or a line, and remove one.

A discount that takes the order's *total* discount (every discount on it, manual and automatic)
past the store's limits (``discount_approval_percent`` / ``_minor``; see
``edge.domain.discount_limits``) needs order.discount_large: a manager applies it, or approves a
cashier's with their PIN inline, and the discount and its audit entry name who let it through.
Automatic rules are not checked when they apply themselves (``service.create_order`` and
``add_lines``): they are the owner's, and a sale is never held up because one alone is past a
cashier's limit; they do count toward the total a manual discount is judged on.
"""

from __future__ import annotations

import apsw
import msgspec

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.orders import queries, ticket
from edge.app.orders.schemas import DiscountApply
from edge.app.orders.service import OrderCommand, allow, approved_by
from edge.domain.discount_limits import DiscountLimit, allowed_minor, needs_approval, store_limit
from edge.domain.discounts import check_discount
from edge.domain.errors import ApprovalRequired, InvalidInput, NotFound
from edge.domain.order import check_action, live_lines
from edge.domain.permissions import ORDER_DISCOUNT, ORDER_DISCOUNT_LARGE, require
from edge.domain.totals import compute_totals
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import AppliedDiscount, Order, OrderTotals, Rounding


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
        if applied.line_id is not None:
            _check_line(order, applied.line_id)
        before = _totals(order, order.discounts)
        after = _totals(order, [*order.discounts, applied])
        settings = edge.settings(tx.conn)
        limit = store_limit(settings.discount_approval_percent, settings.discount_approval_minor)
        approver_id = None
        if needs_approval(before, after, limit, order.rounding):
            approver_id = _approve(actor, approver, after, limit, order.rounding)
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


def _check_line(order: Order, line_id: str) -> None:
    """Refuse a line discount on a line the order does not have (or has voided)."""
    if not any(line.id == line_id for line in live_lines(order.lines)):
        raise InvalidInput(f"order #{order.number} has no live line {line_id}", line_id=line_id)


def _totals(order: Order, discounts: list[AppliedDiscount]) -> OrderTotals:
    """The order's totals with ``discounts`` (the ledger plays no part in a discount's limit)."""
    receipt = compute_totals(
        order.lines,
        discounts,
        service_charge_percent=order.service_charge_percent,
        tax_mode=order.tax_mode,
        rounding=order.rounding,
    )
    return receipt.totals


def _approve(
    actor: Actor,
    approver: Actor | None,
    after: OrderTotals,
    limit: DiscountLimit,
    rounding: Rounding,
) -> str | None:
    """``approved_by`` for a discount past the limits; a refusal names the figures judged."""
    try:
        return approved_by(actor, ORDER_DISCOUNT_LARGE, approver)
    except ApprovalRequired as exc:
        allowed = allowed_minor(after.subtotal_minor, limit, rounding)
        if after.subtotal_minor == 0:
            why = "the order has nothing on it yet to judge a discount against"
        else:
            why = (
                f"the order's discounts would come to {after.discount_minor} of its"
                f" {after.subtotal_minor} (minor units), past the {allowed} the {actor.role} role"
                f" may give without a manager ({limit.percent} % of the order, at most"
                f" {limit.minor})"
            )
        raise ApprovalRequired(
            f"{why}: a manager must apply this discount or approve it with their PIN",
            exc.permission,
            role=actor.role,
            discount_minor=after.discount_minor,
            subtotal_minor=after.subtotal_minor,
            allowed_minor=allowed,
        ) from exc


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
