"""Discount rules: validation, time windows and automatic application."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.discounts import (
    applies_now,
    automatic_discounts,
    check_discount,
    window_covers,
)
from edge.domain.errors import InvalidInput
from shared.schemas.documents import AppliedDiscount, Discount, OrderLine, TimeWindow

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = [MON, TUE, WED, THU, FRI]

HAPPY_HOUR = Discount(
    id="disc-happy",
    name="Happy hour",
    kind="percent",
    scope="item",
    percent="25",
    category_ids=["cat-beer"],
    window=TimeWindow(weekdays=WEEKDAYS, start="16:00", end="18:00"),
)
LATE_NIGHT = Discount(
    id="disc-late",
    name="Late night",
    kind="amount",
    scope="item",
    amount_minor=100,
    item_ids=["item-fries"],
    window=TimeWindow(weekdays=[FRI], start="22:00", end="02:00"),
)

BEER = OrderLine(id="line-beer", item_id="item-ipa", name="IPA", unit_price_minor=600, quantity=2)
FRIES = OrderLine(
    id="line-fries", item_id="item-fries", name="Fries", unit_price_minor=350, quantity=1
)
SODA = OrderLine(id="line-soda", item_id="item-soda", name="Soda", unit_price_minor=250, quantity=1)
CATEGORIES = {"item-ipa": "cat-beer", "item-fries": "cat-food", "item-soda": "cat-drinks"}


def ids(prefix: str = "applied") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


# --- check_discount ------------------------------------------------------------------------------


def test_valid_discounts_return_their_value() -> None:
    assert check_discount("percent", "12.5", None) == Decimal("12.5")
    assert check_discount("amount", None, 500) == 500


@pytest.mark.parametrize(
    ("kind", "percent", "amount_minor"),
    [
        ("percent", "0", None),
        ("percent", "100.5", None),
        ("percent", "-5", None),
        ("percent", None, None),
        ("percent", "ten", None),
        ("amount", None, 0),
        ("amount", None, -100),
        ("amount", None, None),
        ("amount", None, 12.5),
        ("bogo", "10", 10),
    ],
)
def test_invalid_discount_values_are_refused(
    kind: str, percent: str | None, amount_minor: int | None
) -> None:
    with pytest.raises(InvalidInput):
        check_discount(kind, percent, amount_minor)


def test_full_percent_discount_is_allowed() -> None:
    assert check_discount("percent", "100", None) == Decimal(100)


def test_stale_field_of_the_other_kind_is_ignored() -> None:
    # Catalog fields merge one by one: a discount switched to amount may keep its old percent.
    assert check_discount("amount", "not-a-number", 300) == 300


# --- windows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekday", "hhmm", "expected"),
    [
        (MON, "16:00", True),  # start is inside
        (MON, "17:59", True),
        (MON, "18:00", False),  # end is outside
        (MON, "15:59", False),
        (SAT, "17:00", False),  # not a listed day
    ],
)
def test_same_day_window_is_half_open(weekday: int, hhmm: str, expected: bool) -> None:
    assert applies_now(HAPPY_HOUR, weekday, hhmm) is expected


@pytest.mark.parametrize(
    ("weekday", "hhmm", "expected"),
    [
        (FRI, "22:00", True),
        (FRI, "23:59", True),
        (SAT, "00:00", True),  # Friday's window runs on past midnight
        (SAT, "01:59", True),
        (SAT, "02:00", False),
        (FRI, "01:00", False),  # Friday early morning belongs to Thursday's window
        (SAT, "22:30", False),  # Saturday is not listed
        (FRI, "21:59", False),
    ],
)
def test_window_crossing_midnight_belongs_to_the_day_it_starts(
    weekday: int, hhmm: str, expected: bool
) -> None:
    assert applies_now(LATE_NIGHT, weekday, hhmm) is expected


def test_sunday_window_crossing_midnight_runs_into_monday() -> None:
    window = TimeWindow(weekdays=[SUN], start="23:00", end="01:00")
    assert window_covers(window, MON, "00:30")
    assert not window_covers(window, SUN, "00:30")


def test_window_with_equal_start_and_end_lasts_24_hours_from_its_start() -> None:
    whole_day = TimeWindow(weekdays=[TUE], start="00:00", end="00:00")
    assert window_covers(whole_day, TUE, "00:00")
    assert window_covers(whole_day, TUE, "23:59")
    assert not window_covers(whole_day, WED, "00:00")
    from_six = TimeWindow(weekdays=[TUE], start="06:00", end="06:00")
    assert window_covers(from_six, WED, "05:59")
    assert not window_covers(from_six, TUE, "05:59")


def test_window_may_end_at_24_00() -> None:
    window = TimeWindow(weekdays=[TUE], start="20:00", end="24:00")
    assert window_covers(window, TUE, "23:59")
    assert not window_covers(window, WED, "00:00")


def test_discount_without_window_always_applies() -> None:
    always = msgspec.structs.replace(HAPPY_HOUR, window=None)
    assert applies_now(always, SUN, "03:00")


def test_archived_discount_never_applies() -> None:
    assert not applies_now(msgspec.structs.replace(HAPPY_HOUR, archived=True), MON, "17:00")


@pytest.mark.parametrize(
    ("weekday", "hhmm"),
    [(7, "12:00"), (-1, "12:00"), (MON, "24:00"), (MON, "9:00"), (MON, "12:60")],
)
def test_bad_local_time_is_refused(weekday: int, hhmm: str) -> None:
    with pytest.raises(InvalidInput):
        applies_now(HAPPY_HOUR, weekday, hhmm)


@pytest.mark.parametrize(
    "window",
    [
        TimeWindow(start="25:00", end="02:00"),
        TimeWindow(start="10:00", end="10h30"),
        TimeWindow(weekdays=[8], start="10:00", end="11:00"),
    ],
)
def test_malformed_window_is_refused(window: TimeWindow) -> None:
    with pytest.raises(InvalidInput):
        window_covers(window, MON, "10:15")


HHMM = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.integers(0, 6), unique=True),
    start=HHMM,
    end=HHMM,
    weekday=st.integers(0, 6),
    now=HHMM,
)
def test_window_agrees_with_a_minute_by_minute_reading_of_the_week(
    days: list[int], start: str, end: str, weekday: int, now: str
) -> None:
    def minute(hhmm: str) -> int:
        return int(hhmm[:2]) * 60 + int(hhmm[3:])

    week = 7 * 24 * 60
    moment = weekday * 24 * 60 + minute(now)
    length = (minute(end) - minute(start)) % (24 * 60) or 24 * 60
    covered = any((moment - (day * 24 * 60 + minute(start))) % week < length for day in days)
    assert window_covers(TimeWindow(weekdays=days, start=start, end=end), weekday, now) is covered


# --- automatic_discounts -------------------------------------------------------------------------


def test_happy_hour_applies_to_each_matching_line_by_category() -> None:
    other_beer = msgspec.structs.replace(BEER, id="line-beer-2")
    applied = automatic_discounts(
        [HAPPY_HOUR], [BEER, FRIES, other_beer], CATEGORIES, WED, "16:30", ids()
    )
    assert applied == [
        AppliedDiscount(
            id="applied-1",
            discount_id="disc-happy",
            name="Happy hour",
            kind="percent",
            percent="25",
            line_id="line-beer",
            automatic=True,
        ),
        AppliedDiscount(
            id="applied-2",
            discount_id="disc-happy",
            name="Happy hour",
            kind="percent",
            percent="25",
            line_id="line-beer-2",
            automatic=True,
        ),
    ]


def test_rule_matches_by_item_id() -> None:
    applied = automatic_discounts([LATE_NIGHT], [BEER, FRIES], CATEGORIES, SAT, "01:00", ids())
    assert [(a.line_id, a.kind, a.amount_minor, a.percent) for a in applied] == [
        ("line-fries", "amount", 100, None)
    ]


def test_rules_outside_their_window_apply_nothing() -> None:
    assert (
        automatic_discounts(
            [HAPPY_HOUR, LATE_NIGHT], [BEER, FRIES], CATEGORIES, WED, "12:00", ids()
        )
        == []
    )


def test_voided_lines_get_no_automatic_discount() -> None:
    voided = msgspec.structs.replace(BEER, voided=True)
    assert automatic_discounts([HAPPY_HOUR], [voided], CATEGORIES, WED, "17:00", ids()) == []


def test_order_scope_windowless_and_archived_rules_are_not_automatic() -> None:
    order_scope = msgspec.structs.replace(HAPPY_HOUR, id="d-order", scope="order")
    no_window = msgspec.structs.replace(HAPPY_HOUR, id="d-manual", window=None)
    archived = msgspec.structs.replace(HAPPY_HOUR, id="d-old", archived=True)
    rules = [order_scope, no_window, archived]
    assert automatic_discounts(rules, [BEER], CATEGORIES, WED, "17:00", ids()) == []


def test_rule_without_items_or_categories_matches_nothing() -> None:
    bare = msgspec.structs.replace(HAPPY_HOUR, category_ids=[], item_ids=[])
    assert automatic_discounts([bare], [BEER, SODA], CATEGORIES, WED, "17:00", ids()) == []


def test_malformed_live_rule_is_refused() -> None:
    broken = msgspec.structs.replace(HAPPY_HOUR, percent="250")
    with pytest.raises(InvalidInput):
        automatic_discounts([broken], [BEER], CATEGORIES, WED, "17:00", ids())


def test_automatic_discount_drops_the_stale_field_of_the_other_kind() -> None:
    switched = msgspec.structs.replace(LATE_NIGHT, percent="10")
    (applied,) = automatic_discounts([switched], [FRIES], CATEGORIES, FRI, "23:00", ids())
    assert applied.percent is None
    assert applied.amount_minor == 100
