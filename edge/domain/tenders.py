"""Applying money to an order: cash with change, card and external terminals, refund limits.

Every amount is integer minor units. A tender never applies more than the balance: cash beyond it
comes back as change, and a card or external charge above it is refused (a card cannot give change).

A refund goes back through a tender that paid the order, never more than that tender still holds:
what its payments applied less the refunds already given through it (``plan_refund``). Naming a
payment also caps the refund at what that payment still holds, and its tender must be the
payment's: card money goes back to the card, so no tender's net for the day can go below zero
from a refund sent the wrong way. Tips are never refunded: they already belong to the staff.
"""

from __future__ import annotations

import msgspec

from edge.domain.errors import Conflict, InvalidInput, NotFound
from shared.schemas.documents import Payment, Refund, Tender
from shared.schemas.fields import MAX_MINOR

# Far above any real till (ten billion in major units) yet well inside 2**53, so an amount stays
# exact through JSON clients that read numbers as doubles.


class TenderResult(msgspec.Struct, frozen=True, kw_only=True):
    """How a tender splits: applied to the balance, tip, handed over or charged, change given."""

    amount_minor: int
    tip_minor: int
    tendered_minor: int
    change_minor: int


def check_amount(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` if it is an int amount in 0 (or 1)..MAX_MINOR, else raise InvalidInput."""
    # bool is an int subclass and a float may carry a fraction of a cent: refuse both.
    if type(value) is not int:
        raise InvalidInput(f"{name} must be a whole number of minor units", field=name)
    lowest = 0 if allow_zero else 1
    if value < lowest:
        raise InvalidInput(f"{name} must be at least {lowest}", field=name, value=value)
    if value > MAX_MINOR:
        raise InvalidInput(f"{name} must be at most {MAX_MINOR}", field=name, value=value)
    return value


def _check_balance(balance_minor: int) -> int:
    balance = check_amount(balance_minor, "balance_minor", allow_zero=True)
    if balance == 0:
        raise Conflict("the order has nothing left to pay")
    return balance


def take_cash(balance_minor: int, tendered_minor: int, tip_minor: int = 0) -> TenderResult:
    """Apply cash handed over: the tip comes out first, then the balance, the rest is change.

    Cash short of balance + tip is a partial payment (no change). Cash that covers no more than
    the tip is refused: a payment must apply something to the order.
    """
    balance = _check_balance(balance_minor)
    tendered = check_amount(tendered_minor, "tendered_minor")
    tip = check_amount(tip_minor, "tip_minor", allow_zero=True)
    if tendered <= tip:
        raise InvalidInput(
            f"cash handed over ({tendered}) must be more than the tip ({tip})",
            tendered_minor=tendered,
            tip_minor=tip,
        )
    applied = min(balance, tendered - tip)
    return TenderResult(
        amount_minor=applied,
        tip_minor=tip,
        tendered_minor=tendered,
        change_minor=tendered - tip - applied,
    )


def _take_exact(balance_minor: int, amount_minor: int, tip_minor: int, tender: str) -> TenderResult:
    balance = _check_balance(balance_minor)
    amount = check_amount(amount_minor, "amount_minor")
    tip = check_amount(tip_minor, "tip_minor", allow_zero=True)
    if amount > balance:
        raise Conflict(
            f"a {tender} payment of {amount} is more than the balance of {balance}",
            amount_minor=amount,
            balance_minor=balance,
        )
    return TenderResult(
        amount_minor=amount, tip_minor=tip, tendered_minor=amount + tip, change_minor=0
    )


def take_card(balance_minor: int, amount_minor: int, tip_minor: int = 0) -> TenderResult:
    """Apply a card charge of ``amount_minor`` (plus tip); more than the balance is refused."""
    return _take_exact(balance_minor, amount_minor, tip_minor, "card")


def take_external(balance_minor: int, amount_minor: int, tip_minor: int = 0) -> TenderResult:
    """Apply an amount approved on an external terminal; more than the balance is refused."""
    return _take_exact(balance_minor, amount_minor, tip_minor, "external")


def refundable(payments: list[Payment], refunds: list[Refund], payment_id: str) -> int:
    """What may still be refunded against one payment: its applied amount less past refunds.

    Tips are not part of it: a refund returns what the order was charged, and the tip already
    belongs to the staff.
    """
    payment = _payment(payments, payment_id)
    refunded = sum(r.amount_minor for r in refunds if r.payment_id == payment_id)
    return max(payment.amount_minor - refunded, 0)


def tender_refundable(payments: list[Payment], refunds: list[Refund], tender: Tender) -> int:
    """What may still go back through ``tender``: what it applied to the order less its refunds.

    A refund counts against the tender it went back through, linked to a payment or not.
    """
    paid = sum(p.amount_minor for p in payments if p.tender == tender)
    back = sum(r.amount_minor for r in refunds if r.tender == tender)
    return max(paid - back, 0)


def plan_refund(
    payments: list[Payment],
    refunds: list[Refund],
    *,
    tender: Tender,
    amount_minor: int,
    payment_id: str | None = None,
) -> str | None:
    """Check a refund of ``amount_minor`` through ``tender``; return the payment it reverses.

    The payment is the one named, else the first payment of that tender still holding the whole
    amount, else None (a refund spread over several payments of the tender).
    """
    amount = check_amount(amount_minor, "amount_minor")
    room = refund_room(payments, refunds, tender=tender, payment_id=payment_id)
    if amount > room:
        holder = f"payment {payment_id}" if payment_id else tender
        raise Conflict(
            f"a {tender} refund of {amount} is more than the {room} that {holder} still holds"
            " on this order",
            amount_minor=amount,
            refundable_minor=room,
            tender=tender,
            payment_id=payment_id,
        )
    if payment_id is not None:
        return payment_id
    covering = (
        p.id
        for p in payments
        if p.tender == tender and refundable(payments, refunds, p.id) >= amount
    )
    return next(covering, None)


def refund_room(
    payments: list[Payment], refunds: list[Refund], *, tender: Tender, payment_id: str | None
) -> int:
    """The most a refund through ``tender`` (against ``payment_id``, if named) may give back.

    A tender that did not pay the order, or a payment taken by another tender, is refused.
    """
    tenders = list(dict.fromkeys(p.tender for p in payments))
    if tender not in tenders:
        raise Conflict(
            f"the order was not paid by {tender}: a refund goes back to a tender that paid it"
            f" ({', '.join(tenders) or 'none'})",
            tender=tender,
            tenders=tenders,
            refundable_minor=0,
        )
    room = tender_refundable(payments, refunds, tender)
    if payment_id is not None:
        payment = _payment(payments, payment_id)
        if payment.tender != tender:
            raise Conflict(
                f"payment {payment_id} was taken by {payment.tender}: its refund goes back by"
                f" {payment.tender}, not {tender}",
                payment_id=payment_id,
                payment_tender=payment.tender,
                tender=tender,
            )
        room = min(room, refundable(payments, refunds, payment_id))
    # Never more than the order still holds in all: older data may hold refunds that went back
    # through a tender that did not pay.
    net_paid = sum(p.amount_minor for p in payments) - sum(r.amount_minor for r in refunds)
    return max(min(room, net_paid), 0)


def _payment(payments: list[Payment], payment_id: str) -> Payment:
    payment = next((p for p in payments if p.id == payment_id), None)
    if payment is None:
        raise NotFound(f"the order has no payment {payment_id}", payment_id=payment_id)
    return payment


def check_refund(amount_minor: int, refundable_minor: int) -> int:
    """Return ``amount_minor`` if it is a positive amount no larger than what is refundable."""
    amount = check_amount(amount_minor, "amount_minor")
    if amount > refundable_minor:
        raise Conflict(
            f"refund of {amount} is more than the {refundable_minor} still refundable",
            amount_minor=amount,
            refundable_minor=refundable_minor,
        )
    return amount
