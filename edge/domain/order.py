"""The order state machine: every state change goes through one transitions table.

::

    open ──send──▶ sent                    send again: sent stays sent (a new round of lines)
    open / sent ──pay──▶ paid              only when settle() finds nothing left to pay
    open / sent ──close──▶ closed          only with live lines and nothing left to pay
    paid ──close──▶ closed
    open / sent ──void──▶ voided           order.void; order.void_paid once money was taken
    paid / closed ──void──▶ voided         order.void_paid, manager override
    paid / closed ──reopen──▶ open         order.reopen, manager override
    paid / closed / partially_refunded ──refund──▶ partially_refunded, or refunded once the
                                           order holds no money (after_refund); payment.refund,
                                           manager override
    partially_refunded / refunded ──void──▶ voided   order.void_paid (refused while money is held)
    voided                                 accepts nothing

A refunded or partly refunded order is settled: it takes no payment, is not reopened (the money
went back; a new sale is a new order) and is not closed (it already left the open tickets). Its
balance stays 0: what went back is ``refunded_minor`` in its totals, not a debt
(edge.domain.totals).

``rule(state, action)`` says what an action does and which permission it needs; ``transition``
applies it. ``check_action`` also looks at the order's content. Every refusal is
``IllegalTransition`` — including sending or paying an order with no live lines: the request is
well formed, it is the order's present condition that forbids it, exactly as for a voided order.
A void after payment returns no money by itself: the caller records the refunds alongside it.

Zero totals (a 100 % staff meal, a free glass of water): no payment can settle them, since a
payment must be positive and ``settle`` never marks a zero total paid by itself. Instead the
cashier closes the order directly, as they would tap "complete" on a £0.00 bill: an open or sent
order with live lines and a balance of 0 may be closed (payment.take, like any settlement of a
bill). It goes straight to closed, counts as sold in the day's reports (its discount shows) and no
longer holds up the Z report. Settling automatically on an edit or on send was rejected: an order
that reaches 0 mid-ring (the free water rung first, the discount applied before the rest) would
lock as paid and need a manager to reopen it. The same rule lets a reopened order that was left
unchanged (paid in full, so balance 0) be closed again. An order with no live lines is voided,
never closed; one that still owes money is paid first.
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

from edge.domain.errors import Conflict, IllegalTransition
from edge.domain.permissions import (
    ORDER_EDIT,
    ORDER_REOPEN,
    ORDER_SEND,
    ORDER_VOID,
    ORDER_VOID_PAID,
    PAYMENT_REFUND,
    PAYMENT_TAKE,
)
from shared.schemas.documents import Order, OrderLine, OrderState

Action = Literal["add_lines", "edit_lines", "send", "pay", "close", "void", "reopen", "refund"]

ACTIONS: tuple[Action, ...] = get_args(Action)
STATES: tuple[OrderState, ...] = get_args(OrderState)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """What one action does in one state.

    ``to`` is the new state (None: unchanged). ``permission`` is what the actor must hold. With
    ``override`` set, an actor who lacks it may proceed on a manager's inline approval
    (``permissions.authorize``); without it, the actor must hold it (``permissions.require``).
    """

    to: OrderState | None
    permission: str
    override: bool = False


_ADD = Rule(to=None, permission=ORDER_EDIT)
_EDIT = Rule(to=None, permission=ORDER_EDIT)
_PAY = Rule(to=None, permission=PAYMENT_TAKE)  # the state moves only through settle()
_VOID = Rule(to="voided", permission=ORDER_VOID)
_VOID_PAID = Rule(to="voided", permission=ORDER_VOID_PAID, override=True)
_REOPEN = Rule(to="open", permission=ORDER_REOPEN, override=True)
# A refund that leaves no money on the order makes it refunded instead (after_refund).
_REFUND = Rule(to="partially_refunded", permission=PAYMENT_REFUND, override=True)
# Closing an unpaid order settles the bill without money: check_action allows it only when
# nothing is owed, and it takes the permission that settles a bill.
_CLOSE_UNPAID = Rule(to="closed", permission=PAYMENT_TAKE)

TRANSITIONS: dict[tuple[OrderState, Action], Rule] = {
    ("open", "add_lines"): _ADD,
    ("open", "edit_lines"): _EDIT,
    ("open", "send"): Rule(to="sent", permission=ORDER_SEND),
    ("open", "pay"): _PAY,
    ("open", "close"): _CLOSE_UNPAID,
    ("open", "void"): _VOID,
    ("sent", "add_lines"): _ADD,
    ("sent", "edit_lines"): _EDIT,
    ("sent", "send"): Rule(to=None, permission=ORDER_SEND),  # a second round to the kitchen
    ("sent", "pay"): _PAY,
    ("sent", "close"): _CLOSE_UNPAID,
    ("sent", "void"): _VOID,
    ("paid", "close"): Rule(to="closed", permission=ORDER_EDIT),
    ("paid", "void"): _VOID_PAID,
    ("paid", "reopen"): _REOPEN,
    ("paid", "refund"): _REFUND,
    ("closed", "void"): _VOID_PAID,
    ("closed", "reopen"): _REOPEN,
    ("closed", "refund"): _REFUND,
    ("partially_refunded", "refund"): _REFUND,
    ("partially_refunded", "void"): _VOID_PAID,
    ("refunded", "void"): _VOID_PAID,
    # voided accepts nothing
}


def rule(state: OrderState, action: Action, *, paid_minor: int = 0) -> Rule:
    """The table's rule for ``action`` in ``state``; IllegalTransition when there is none.

    ``paid_minor`` is the money already applied to the order: voiding a partly paid open or sent
    order hides a sale just as voiding a paid one does, so it takes the void-after-payment rule.
    """
    found = TRANSITIONS.get((state, action))
    if found is None:
        raise IllegalTransition(
            f"an order that is {state} does not accept {action}", state=state, action=action
        )
    if action == "void" and state in ("open", "sent") and paid_minor > 0:
        return _VOID_PAID
    return found


def transition(state: OrderState, action: Action, *, paid_minor: int = 0) -> OrderState:
    """The state after ``action``; IllegalTransition when the table does not allow it."""
    to = rule(state, action, paid_minor=paid_minor).to
    return state if to is None else to


def after_refund(state: OrderState, paid_minor: int) -> OrderState:
    """The state after a refund that leaves ``paid_minor`` (net of refunds) on the order.

    IllegalTransition where the table allows no refund.
    """
    to = transition(state, "refund")
    return "refunded" if paid_minor <= 0 else to


def live_lines(lines: list[OrderLine]) -> list[OrderLine]:
    """The lines that count: not voided and with a positive quantity."""
    return [line for line in lines if not line.voided and line.quantity > 0]


def check_action(order: Order, action: Action) -> Rule:
    """The rule for ``action`` on ``order``, also refusing what its content forbids."""
    found = rule(order.state, action, paid_minor=order.totals.paid_minor)
    unsettled = order.state in ("open", "sent")
    if action in ("send", "pay") or (action == "close" and unsettled):
        lines = live_lines(order.lines)
        if not lines:
            raise IllegalTransition(
                f"order #{order.number} has no lines to {action}",
                state=order.state,
                action=action,
            )
        if action == "send" and all(line.sent for line in lines):
            raise IllegalTransition(
                f"order #{order.number} has nothing new to send", state=order.state, action=action
            )
        owed = order.totals.balance_minor
        if action == "close" and owed != 0:
            raise IllegalTransition(
                f"order #{order.number} has a balance of {owed}; settle it with a payment",
                state=order.state,
                action=action,
                balance_minor=owed,
            )
    return found


def settle(state: OrderState, balance_minor: int, total_minor: int) -> OrderState:
    """The state after a payment: open or sent becomes paid once nothing is owed.

    A partial payment leaves the state as it is; so does a zero total (an empty order is never
    paid by accident; one with live lines is closed instead, see the module docstring). Paid,
    closed and voided orders are never moved by a payment.
    """
    if balance_minor < 0:
        # Tenders cannot overpay, so this comes from an edit after payment; refuse rather
        # than mark paid an order that owes the customer money.
        raise Conflict(
            f"the order is overpaid by {-balance_minor}; refund the difference first",
            balance_minor=balance_minor,
        )
    if state in ("open", "sent") and balance_minor == 0 and total_minor > 0:
        return "paid"
    return state
