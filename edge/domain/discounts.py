"""Discount rules: validation, time windows and automatic application.

How much a role may give without a manager is ``discount_limits``'s (on the order's total).

Time windows are half-open, ``[start, end)`` in the store's local wall-clock time. A window whose
end is before its start crosses midnight and belongs to the day it starts on: 22:00-02:00 listed
for Friday covers Friday 22:00-24:00 and Saturday 00:00-02:00 (not Friday 00:00-02:00). A window
whose start equals its end lasts 24 hours from its start (00:00-00:00 is the whole listed day).
``"24:00"`` is accepted as an end only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

from edge.domain.errors import InvalidInput
from edge.domain.money import check_minor, parse_percent
from shared.schemas.documents import AppliedDiscount, Discount, OrderLine, TimeWindow

_HHMM = re.compile(r"([0-9]{2}):([0-9]{2})")
_DAY_MINUTES = 24 * 60


def check_discount(kind: str, percent: str | None, amount_minor: int | None) -> Decimal | int:
    """Validate a discount's value and return it: the percent (0 < p <= 100) or the amount (> 0).

    Only the field that ``kind`` uses is read: catalog fields merge one by one, so a discount whose
    kind was changed may still carry the other, stale field.
    """
    if kind == "percent":
        if percent is None:
            raise InvalidInput("a percent discount needs a percent", field="percent")
        value = parse_percent(percent)
        if value <= 0:
            raise InvalidInput("a discount percent must be above 0", field="percent", value=percent)
        return value
    if kind == "amount":
        if amount_minor is None:
            raise InvalidInput("an amount discount needs an amount", field="amount_minor")
        check_minor(amount_minor, "amount_minor")
        if amount_minor <= 0:
            raise InvalidInput("a discount amount must be above 0", field="amount_minor")
        return amount_minor
    raise InvalidInput(f"unknown discount kind {kind!r}", field="kind", value=kind)


def _minutes(text: str, *, allow_end_of_day: bool = False) -> int:
    """Minutes since midnight of a strict ``"HH:MM"``."""
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput("time must be HH:MM", value=repr(text))
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes >= 60 or total > _DAY_MINUTES or (total == _DAY_MINUTES and not allow_end_of_day):
        raise InvalidInput("time must be between 00:00 and 23:59", value=text)
    return total


@lru_cache(maxsize=2048)
def _clock_minutes(text: str) -> int:
    """``_minutes`` of a time of day, parsed once (every sale asks for the current minute)."""
    return _minutes(text)


@lru_cache(maxsize=1024)
def _window_bounds(
    start: str, end: str, weekdays: tuple[int, ...]
) -> tuple[int, int, frozenset[int]]:
    """A window's start and end in minutes and its (checked) weekdays, parsed once."""
    return _minutes(start), _minutes(end, allow_end_of_day=True), frozenset(weekdays)


def _check_weekday(weekday: int) -> int:
    if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
        raise InvalidInput("weekday must be 0 (Monday) to 6 (Sunday)", weekday=repr(weekday))
    return weekday


def window_covers(window: TimeWindow, local_weekday: int, local_hhmm: str) -> bool:
    """Whether ``window`` covers this local weekday and time (see the module docstring)."""
    weekday = _check_weekday(local_weekday)
    now = _clock_minutes(local_hhmm)
    # Checked before the cache: True and 1 are equal keys, but only 1 is a weekday.
    weekdays = tuple(_check_weekday(day) for day in window.weekdays)
    start, end, days = _window_bounds(window.start, window.end, weekdays)
    if start < end:
        return weekday in days and start <= now < end
    # Crosses midnight (or lasts 24 h when start == end): the part from ``start`` on is today's
    # window, the part before ``end`` is yesterday's.
    yesterday = (weekday - 1) % 7
    return (weekday in days and now >= start) or (yesterday in days and now < end)


def applies_now(discount: Discount, local_weekday: int, local_hhmm: str) -> bool:
    """Whether the discount is live now: not archived, and inside its window if it has one."""
    if discount.archived:
        return False
    if discount.window is None:
        return True
    return window_covers(discount.window, local_weekday, local_hhmm)


def _matches(discount: Discount, line: OrderLine, item_categories: dict[str, str]) -> bool:
    # A rule with no items and no categories matches nothing: "everything" must be said explicitly
    # with an order-scope discount.
    if line.voided:
        return False
    if line.item_id in discount.item_ids:
        return True
    category_id = item_categories.get(line.item_id)
    return category_id is not None and category_id in discount.category_ids


def automatic_discounts(
    discounts: list[Discount],
    lines: list[OrderLine],
    item_categories: dict[str, str],
    local_weekday: int,
    local_hhmm: str,
    make_id: Callable[[], str],
) -> list[AppliedDiscount]:
    """Apply the time-window rules live now to each matching line (by discount, then by line).

    ``item_categories`` maps item id -> category id. A malformed rule raises InvalidInput rather
    than being skipped, so a broken catalog entry is seen instead of silently not discounting.
    """
    applied: list[AppliedDiscount] = []
    for discount in discounts:
        if discount.scope != "item" or discount.window is None:
            continue
        if not applies_now(discount, local_weekday, local_hhmm):
            continue
        check_discount(discount.kind, discount.percent, discount.amount_minor)
        for line in lines:
            if _matches(discount, line, item_categories):
                applied.append(_apply_to_line(discount, line, make_id()))
    return applied


def _apply_to_line(discount: Discount, line: OrderLine, applied_id: str) -> AppliedDiscount:
    is_percent = discount.kind == "percent"
    return AppliedDiscount(
        id=applied_id,
        discount_id=discount.id,
        name=discount.name,
        kind=discount.kind,
        percent=discount.percent if is_percent else None,
        amount_minor=None if is_percent else discount.amount_minor,
        line_id=line.id,
        automatic=True,
    )
