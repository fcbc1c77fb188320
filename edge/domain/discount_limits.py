"""Discount limits: how much of an order a role may give away without a manager.

The limit is on the order's *total* discount, never on one discount at a time: judged one by one,
eight 10 % discounts and three £2 ones each pass a 20 % limit and together take 78 % off. The store
sets two limits (``StoreSettings.discount_approval_percent`` and ``discount_approval_minor``): the
order's total discount may be at most that percent of its pre-discount subtotal and at most that
amount. Which roles may go past them is the permission table's ``order.discount_large`` (owners
and managers; a cashier or server needs one of them to act or to approve with their PIN).

The total is every discount on the order, manual and automatic, as ``edge.domain.totals`` computes
it, so a limit is judged on what the customer is really given. A change needs approval only when
it gives more than the order had before *and* the result is past a limit: taking a discount off
never does, and neither does a discount that takes nothing more (an order already free).

The percent limit allows what a discount of exactly that percent would take off the order, rounded
as the order rounds, so one discount at the limit always passes (20 % of 2803 is 560.6; a 20 %
discount takes 561 under half-up rounding, so 561 is allowed).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from edge.domain.errors import InvalidInput
from edge.domain.money import apply_ratio, check_minor, check_rounding, parse_percent
from shared.schemas.documents import OrderTotals, Rounding

_HUNDRED = Decimal(100)


class DiscountLimit(msgspec.Struct, frozen=True, kw_only=True):
    """What a role may take off an order without approval: a percent and an amount."""

    percent: Decimal  # of the order's pre-discount subtotal
    minor: int  # absolute, in minor units


def store_limit(percent: str, minor: int) -> DiscountLimit:
    """The limit from the store's settings: a decimal-string percent and an amount."""
    return checked(DiscountLimit(percent=parse_percent(percent), minor=minor))


def checked(limit: DiscountLimit) -> DiscountLimit:
    """Return ``limit`` if its percent is a finite Decimal in [0, 100] and its amount valid."""
    # A float would be accepted by the arithmetic and silently carry binary error.
    if not isinstance(limit.percent, Decimal) or not limit.percent.is_finite():
        raise InvalidInput("a limit percent must be a finite Decimal", value=repr(limit.percent))
    if not 0 <= limit.percent <= _HUNDRED:
        raise InvalidInput("a limit percent must be between 0 and 100", value=str(limit.percent))
    check_minor(limit.minor, "limit minor")
    return limit


def allowed_minor(subtotal_minor: int, limit: DiscountLimit, rounding: Rounding) -> int:
    """The most an order of ``subtotal_minor`` may be discounted within ``limit``."""
    check_minor(subtotal_minor, "subtotal_minor")
    check_rounding(rounding)
    by_percent = apply_ratio(subtotal_minor, checked(limit).percent, _HUNDRED, rounding)
    return min(by_percent, limit.minor)


def gives_more(before: OrderTotals, after: OrderTotals) -> bool:
    """Whether ``after`` takes more off than ``before``, in amount or in share of the subtotal."""
    if after.discount_minor > before.discount_minor:
        return True
    # Cross-multiplied shares (no division, no rounding); an order with no subtotal has no share.
    return (
        after.discount_minor * before.subtotal_minor > before.discount_minor * after.subtotal_minor
    )


def needs_approval(
    before: OrderTotals, after: OrderTotals, limit: DiscountLimit, rounding: Rounding
) -> bool:
    """Whether a discount change taking the order from ``before`` to ``after`` needs a manager.

    Both totals hold every discount, manual and automatic. An order with nothing on it yet cannot
    be judged: a discount given to it needs approval, or discounts given before the lines would
    escape the limit once the lines are rung up.
    """
    for totals in (before, after):
        check_minor(totals.subtotal_minor, "subtotal_minor")
        check_minor(totals.discount_minor, "discount_minor")
    checked(limit)
    if after.subtotal_minor == 0:
        return True
    if not gives_more(before, after):
        return False
    return after.discount_minor > allowed_minor(after.subtotal_minor, limit, rounding)
