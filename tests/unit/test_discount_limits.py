"""Discount limits: judged on the order's total discount, manual and automatic, never one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.discount_limits import (
    DiscountLimit,
    allowed_minor,
    needs_approval,
    store_limit,
)
from edge.domain.errors import InvalidInput
from edge.domain.totals import compute_totals
from shared.schemas.documents import AppliedDiscount, OrderLine, OrderTotals, Rounding

# The store defaults (StoreSettings): 20 % of the order, at most £10.
LIMIT = store_limit("20", 1000)


def line(line_id: str, unit_price_minor: int, quantity: int = 1) -> OrderLine:
    return OrderLine(
        id=line_id,
        item_id=f"item-{line_id}",
        name=line_id,
        unit_price_minor=unit_price_minor,
        quantity=quantity,
    )


def percent_off(percent: str, line_id: str | None = None, *, auto: bool = False) -> AppliedDiscount:
    return AppliedDiscount(
        id="d", name="Off", kind="percent", percent=percent, line_id=line_id, automatic=auto
    )


def amount_off(
    amount_minor: int, line_id: str | None = None, *, auto: bool = False
) -> AppliedDiscount:
    return AppliedDiscount(
        id="d",
        name="Off",
        kind="amount",
        amount_minor=amount_minor,
        line_id=line_id,
        automatic=auto,
    )


def totals(
    lines: list[OrderLine], discounts: list[AppliedDiscount], rounding: Rounding = "half_up"
) -> OrderTotals:
    receipt = compute_totals(
        lines, discounts, service_charge_percent=None, tax_mode="inclusive", rounding=rounding
    )
    return receipt.totals


def needs(
    lines: list[OrderLine],
    given: list[AppliedDiscount],
    new: AppliedDiscount,
    limit: DiscountLimit = LIMIT,
    rounding: Rounding = "half_up",
) -> bool:
    """Whether giving ``new`` on top of ``given`` needs a manager."""
    before = totals(lines, given, rounding)
    after = totals(lines, [*given, new], rounding)
    return needs_approval(before, after, limit, rounding)


def give_unapproved(
    lines: list[OrderLine],
    wanted: list[AppliedDiscount],
    start: list[AppliedDiscount] | None = None,
    rounding: Rounding = "half_up",
) -> list[AppliedDiscount]:
    """A cashier gives each discount in turn; those needing a manager are refused (not given)."""
    given = list(start or [])
    for new in wanted:
        if not needs(lines, given, new, rounding=rounding):
            given.append(new)
    return given


# A £28 order: ten croissants at £2.80.
TEN_CROISSANTS = [line("croissants", 280, 10)]
ISSUE = [percent_off("10")] * 8 + [amount_off(200)] * 3


def test_the_issue_example_takes_78_percent_off_a_28_pound_order() -> None:
    assert totals(TEN_CROISSANTS, ISSUE).total_minor == 605


def test_eight_tenths_and_three_pounds_off_need_a_manager_from_the_third_discount() -> None:
    verdicts = [needs(TEN_CROISSANTS, ISSUE[:index], new) for index, new in enumerate(ISSUE)]
    # 10 % then 19 % pass; 27.1 % is past 20 % (560), and every discount after it too.
    assert verdicts == [False, False] + [True] * 9
    assert totals(TEN_CROISSANTS, give_unapproved(TEN_CROISSANTS, ISSUE)).discount_minor == 532


@pytest.mark.parametrize(
    ("subtotal_minor", "discount", "expected"),
    [
        (5000, percent_off("20"), False),
        (5000, percent_off("20.01"), True),
        (2800, percent_off("50"), True),
        (2500, amount_off(500), False),  # 20 % of 2500 exactly
        (2500, amount_off(501), True),
        (100_000, amount_off(1000), False),
        (100_000, amount_off(1001), True),
    ],
)
def test_one_discount_is_judged_as_it_always_was(
    subtotal_minor: int, discount: AppliedDiscount, expected: bool
) -> None:
    assert needs([line("l", subtotal_minor)], [], discount) is expected


def test_the_amount_limit_caps_the_total_of_small_amounts() -> None:
    order = [line("l", 10_000)]  # £100: 20 % would be £20, so £10 is the limit that binds
    pounds_four = [amount_off(400)] * 3
    verdicts = [needs(order, pounds_four[:i], new) for i, new in enumerate(pounds_four)]
    assert verdicts == [False, False, True]


def test_a_percent_discount_giving_more_than_the_amount_limit_needs_a_manager() -> None:
    # 15 % is within 20 %, but £15 off a £100 order is more than the £10 a cashier may give.
    assert needs([line("l", 10_000)], [], percent_off("15"))
    assert not needs([line("l", 10_000)], [], percent_off("10"))


def test_a_line_discount_is_judged_on_the_whole_order() -> None:
    order = [line("bun", 320), line("soup", 480, 4)]  # 2240: 20 % is 448
    assert not needs(order, [], percent_off("100", "bun"))  # 320 of 2240
    assert needs(order, [percent_off("100", "bun")], amount_off(200, "soup"))  # 520 of 2240


@pytest.mark.parametrize(("rounding", "allowed"), [("half_up", 561), ("down", 560)])
def test_the_percent_limit_allows_what_a_discount_of_that_percent_takes(
    rounding: Rounding, allowed: int
) -> None:
    order = [line("l", 2803)]  # 20 % of 2803 is 560.6
    assert allowed_minor(2803, LIMIT, rounding) == allowed
    assert not needs(order, [], percent_off("20"), rounding=rounding)
    assert not needs(order, [], amount_off(allowed), rounding=rounding)
    assert needs(order, [], amount_off(allowed + 1), rounding=rounding)


def test_a_fractional_percent_limit_is_compared_exactly() -> None:
    limit = store_limit("12.5", 1000)
    order = [line("l", 1000)]
    assert not needs(order, [], amount_off(125), limit)
    assert needs(order, [], amount_off(126), limit)


def test_automatic_discounts_count_toward_a_manual_one() -> None:
    order = [line("juice", 300, 10)]
    happy_hour = percent_off("15", "juice", auto=True)  # 450 of 3000: within the limit alone
    assert not needs(order, [], percent_off("10"))  # 300 of 3000
    assert needs(order, [happy_hour], percent_off("10"))  # 450 + 255 = 705, past 600


def test_a_manual_discount_on_top_of_an_automatic_rule_past_the_limit_needs_a_manager() -> None:
    order = [line("juice", 300, 10)]
    half_price = percent_off("50", "juice", auto=True)  # the owner's rule alone: 50 %
    assert needs(order, [half_price], amount_off(100))


def test_a_discount_that_takes_nothing_more_needs_no_manager() -> None:
    order = [line("l", 1000)]
    free = amount_off(1000, auto=True)
    assert not needs(order, [free], percent_off("50"))


def test_taking_a_discount_off_never_needs_a_manager() -> None:
    order = [line("l", 1000)]
    with_half = totals(order, [percent_off("30"), percent_off("50")])
    with_thirty = totals(order, [percent_off("30")])
    assert not needs_approval(with_half, with_thirty, LIMIT, "half_up")


def test_a_discount_on_an_order_with_nothing_on_it_needs_a_manager() -> None:
    # Judged later, on the lines rung up after it, it would escape the limit.
    assert needs([], [], percent_off("10"))
    assert needs([line("l", 500)], [], amount_off(1)) is False


def test_a_limit_refuses_floats_and_values_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        allowed_minor(1000, DiscountLimit(percent=20.0, minor=1000), "half_up")  # type: ignore[arg-type]
    for percent, minor in (("101", 1000), ("-1", 1000), ("20", -1), ("abc", 1000)):
        with pytest.raises(InvalidInput):
            store_limit(percent, minor)
    with pytest.raises(InvalidInput):
        allowed_minor(1000, LIMIT, "up")  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------


@st.composite
def orders(
    draw: st.DrawFn,
) -> tuple[list[OrderLine], list[AppliedDiscount], list[AppliedDiscount]]:
    """Lines, the owner's automatic line discounts on them, and the manual discounts wanted."""
    lines = [
        line(f"l{index}", draw(st.integers(1, 20_000)), draw(st.integers(1, 10)))
        for index in range(draw(st.integers(1, 5)))
    ]
    line_ids = st.sampled_from([item.id for item in lines])
    percents = st.sampled_from(["1", "5", "10", "12.5", "19.99", "20", "33.333", "50", "100"])
    automatic = draw(
        st.lists(
            st.one_of(
                st.builds(lambda p, t: percent_off(p, t, auto=True), percents, line_ids),
                st.builds(lambda a, t: amount_off(a, t, auto=True), st.integers(1, 5000), line_ids),
            ),
            max_size=3,
        )
    )
    targets = st.one_of(st.none(), line_ids)
    wanted = draw(
        st.lists(
            st.one_of(
                st.builds(percent_off, percents, targets),
                st.builds(amount_off, st.integers(1, 5000), targets),
            ),
            min_size=1,
            max_size=15,
        )
    )
    return lines, automatic, wanted


@settings(max_examples=300, deadline=None)
@given(order=orders(), rounding=st.sampled_from(["half_up", "half_even", "down"]))
def test_no_run_of_unapproved_discounts_escapes_the_limit(
    order: tuple[list[OrderLine], list[AppliedDiscount], list[AppliedDiscount]],
    rounding: Rounding,
) -> None:
    # However a discount is split into many, what a cashier gives without a manager never takes
    # the order past the limit, or past what the owner's automatic rules alone already take.
    lines, automatic, wanted = order
    given = give_unapproved(lines, wanted, automatic, rounding)
    final = totals(lines, given, rounding)
    ceiling = max(
        allowed_minor(final.subtotal_minor, LIMIT, rounding),
        totals(lines, automatic, rounding).discount_minor,
    )
    assert final.discount_minor <= ceiling


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.integers(2, 12),
    percent=st.integers(21, 100),
    unit_price_minor=st.integers(1, 20_000),
    quantity=st.integers(1, 10),
)
def test_a_discount_that_needs_a_manager_still_does_when_split_into_equal_pieces(
    pieces: int, percent: int, unit_price_minor: int, quantity: int
) -> None:
    order = [line("l", unit_price_minor, quantity)]
    whole = percent_off(str(percent))
    piece = amount_off(max(1, totals(order, [whole]).discount_minor // pieces))
    if not needs(order, [], whole):
        return  # rounding on a tiny order can bring it within the limit
    given = give_unapproved(order, [piece] * pieces)
    assert totals(order, given).discount_minor <= allowed_minor(
        totals(order, []).subtotal_minor, LIMIT, "half_up"
    )
