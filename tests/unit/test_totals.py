"""The receipt: line amounts, discounts, service charge, tax and the identity that ties them."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.errors import InvalidInput
from edge.domain.totals import LineAmounts, Receipt, compute_totals, receipt_balances
from shared.schemas.documents import AppliedDiscount, LineTax, OrderLine, OrderTotals

NY = LineTax(rate_id="tax-ny", name="NY sales tax", rate="0.08875")
VAT = LineTax(rate_id="tax-vat", name="VAT", rate="0.20")
REDUCED = LineTax(rate_id="tax-reduced", name="Reduced", rate="0.05")
STATE = LineTax(rate_id="tax-state", name="State", rate="0.06")
CITY = LineTax(rate_id="tax-city", name="City", rate="0.025")


def line(
    line_id: str, unit_minor: int, quantity: int = 1, *taxes: LineTax, **extra: Any
) -> OrderLine:
    return OrderLine(
        id=line_id,
        item_id=f"item-{line_id}",
        name=line_id,
        unit_price_minor=unit_minor,
        quantity=quantity,
        taxes=list(taxes),
        **extra,
    )


def percent_off(percent: str, line_id: str | None = None) -> AppliedDiscount:
    return AppliedDiscount(
        id=f"d-{percent}-{line_id}",
        name="Percent",
        kind="percent",
        percent=percent,
        line_id=line_id,
    )


def amount_off(amount_minor: int, line_id: str | None = None) -> AppliedDiscount:
    return AppliedDiscount(
        id=f"d-{amount_minor}-{line_id}",
        name="Amount",
        kind="amount",
        amount_minor=amount_minor,
        line_id=line_id,
    )


def totals(
    lines: list[OrderLine], discounts: list[AppliedDiscount] | None = None, **options: Any
) -> Receipt:
    arguments: dict[str, Any] = {
        "service_charge_percent": None,
        "tax_mode": "exclusive",
        "rounding": "half_up",
    }
    arguments.update(options)
    receipt = compute_totals(lines, discounts or [], **arguments)
    assert receipt_balances(receipt, arguments["tax_mode"])
    return receipt


# --- worked examples -----------------------------------------------------------------------------


def test_three_items_at_1_99_with_new_york_sales_tax() -> None:
    receipt = totals([line("l1", 199, 3, NY)])
    # 597 x 0.08875 = 52.98375 -> 53
    assert receipt.totals == OrderTotals(
        subtotal_minor=597, tax_minor=53, total_minor=650, balance_minor=650
    )
    assert receipt.lines == [
        LineAmounts(line_id="l1", gross_minor=597, discount_minor=0, net_minor=597, tax_minor=53)
    ]
    assert receipt.taxes == {"tax-ny": 53}


def test_latte_at_4_50_with_20_percent_vat_included() -> None:
    receipt = totals([line("latte", 450, 1, VAT)], tax_mode="inclusive")
    # 450 - 450 / 1.2 = 75; the customer pays the shelf price
    assert receipt.totals.tax_minor == 75
    assert receipt.totals.total_minor == 450
    assert receipt.taxes == {"tax-vat": 75}


def test_several_inclusive_rates_are_each_taken_from_the_same_base() -> None:
    # base = 1000 / (1 + 0.20 + 0.05) = 800; parts 800 x 0.20 = 160 and 800 x 0.05 = 40
    receipt = totals([line("l1", 1000, 1, VAT, REDUCED)], tax_mode="inclusive")
    assert receipt.taxes == {"tax-vat": 160, "tax-reduced": 40}
    assert receipt.totals.total_minor == 1000


def test_several_exclusive_rates_are_rounded_per_rate_per_line() -> None:
    # 333 x 0.06 = 19.98 -> 20; 333 x 0.025 = 8.325 -> 8
    receipt = totals([line("l1", 333, 1, STATE, CITY), line("l2", 1000, 1, STATE)])
    assert receipt.taxes == {"tax-state": 20 + 60, "tax-city": 8}
    assert receipt.totals.total_minor == 1333 + 88


def test_tax_is_rounded_per_line_with_the_order_rounding_mode() -> None:
    # 50 x 0.05 = 2.5 on each line
    lines = [line("l1", 50, 1, REDUCED), line("l2", 50, 1, REDUCED)]
    assert totals(lines, rounding="half_up").totals.tax_minor == 6
    assert totals(lines, rounding="half_even").totals.tax_minor == 4
    assert totals(lines, rounding="down").totals.tax_minor == 4


def test_empty_order_comes_to_nothing() -> None:
    receipt = totals([], service_charge_percent="12.5")
    assert receipt.totals == OrderTotals()
    assert receipt.lines == []
    assert receipt.taxes == {}


# --- voids ---------------------------------------------------------------------------------------


def test_voided_lines_count_for_nothing() -> None:
    voided = line("gone", 900, 2, VAT, voided=True)
    receipt = totals([line("l1", 500, 1, VAT), voided], [percent_off("50", "gone")])
    assert receipt.totals.subtotal_minor == 500
    assert receipt.totals.discount_minor == 0
    assert [amounts.line_id for amounts in receipt.lines] == ["l1"]


def test_discount_naming_an_unknown_line_is_refused() -> None:
    with pytest.raises(InvalidInput):
        totals([line("l1", 500)], [amount_off(100, "nope")])


# --- line discounts ------------------------------------------------------------------------------


def test_line_percent_discount_is_rounded_per_line() -> None:
    # 10 % of 995 = 99.5 -> 100 (half up) on each line
    receipt = totals([line("l1", 995), line("l2", 995)], [percent_off("10", "l1")])
    assert [amounts.discount_minor for amounts in receipt.lines] == [100, 0]
    half_even = totals([line("l1", 995)], [percent_off("10", "l1")], rounding="half_even")
    assert half_even.totals.discount_minor == 100  # 99.5 -> 100 (even)


def test_line_amount_discount_is_capped_at_the_line() -> None:
    receipt = totals([line("l1", 300), line("l2", 700)], [amount_off(500, "l1")])
    assert [amounts.net_minor for amounts in receipt.lines] == [0, 700]
    assert receipt.totals.total_minor == 700


def test_two_line_percent_discounts_compound_on_what_is_left() -> None:
    receipt = totals([line("l1", 1000)], [percent_off("50", "l1"), percent_off("50", "l1")])
    assert receipt.lines[0].discount_minor == 750


def test_tax_is_charged_on_the_discounted_line() -> None:
    receipt = totals([line("l1", 1000, 1, VAT)], [amount_off(250, "l1")])
    assert receipt.totals.tax_minor == 150
    assert receipt.totals.total_minor == 900


# --- order discounts -----------------------------------------------------------------------------


def test_order_amount_discount_is_allocated_by_what_each_line_has_left() -> None:
    # shares 66.67 and 33.33: the left-over unit goes to the larger remainder
    receipt = totals([line("l1", 1000), line("l2", 500)], [amount_off(100)])
    assert [amounts.discount_minor for amounts in receipt.lines] == [67, 33]


def test_order_percent_discount_is_rounded_once_then_allocated() -> None:
    # 10 % of 1000 = 100, spread over 333 / 333 / 334
    receipt = totals([line("a", 333), line("b", 333), line("c", 334)], [percent_off("10")])
    assert receipt.totals.discount_minor == 100
    assert [amounts.discount_minor for amounts in receipt.lines] == [33, 33, 34]


def test_order_discount_is_spread_after_line_discounts() -> None:
    lines = [line("l1", 1000), line("l2", 1000)]
    receipt = totals(lines, [amount_off(1000, "l1"), amount_off(500)])
    assert [amounts.net_minor for amounts in receipt.lines] == [0, 500]


def test_order_discount_larger_than_the_order_is_capped() -> None:
    receipt = totals([line("l1", 300, 1, VAT), line("l2", 200)], [amount_off(10_000)])
    assert receipt.totals.discount_minor == 500
    assert receipt.totals.total_minor == 0
    assert all(amounts.net_minor == 0 for amounts in receipt.lines)


# --- service charge, payments, tips --------------------------------------------------------------


def test_service_charge_is_on_the_discounted_amount_before_tax_and_untaxed() -> None:
    receipt = totals([line("l1", 1100, 1, VAT)], [amount_off(100)], service_charge_percent="12.5")
    # net 1000: service 125, tax 200 (on the net only)
    assert receipt.totals.service_minor == 125
    assert receipt.totals.tax_minor == 200
    assert receipt.totals.total_minor == 1100 - 100 + 125 + 200


def test_inclusive_service_charge_is_on_the_tax_inclusive_amount() -> None:
    receipt = totals([line("l1", 450, 1, VAT)], service_charge_percent="10", tax_mode="inclusive")
    assert receipt.totals.service_minor == 45
    assert receipt.totals.total_minor == 495
    assert receipt.totals.tax_minor == 75


def test_service_charge_is_rounded_once() -> None:
    # 12.5 % of four lines of 1: 0.125 per line would round to 0 each; 0.5 once rounds to 1
    receipt = totals([line(f"l{n}", 1) for n in range(4)], service_charge_percent="12.5")
    assert receipt.totals.service_minor == 1


def test_tip_is_reported_beside_the_total_and_balance_is_total_less_paid() -> None:
    receipt = totals([line("l1", 199, 3, NY)], paid_minor=500, tip_minor=100)
    assert receipt.totals.total_minor == 650
    assert receipt.totals.tip_minor == 100
    assert receipt.totals.paid_minor == 500
    assert receipt.totals.balance_minor == 150


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"tax_mode": "vat"},
        {"rounding": "ceiling"},
        {"service_charge_percent": "12.5%"},
        {"service_charge_percent": "150"},
        {"paid_minor": -1},
        {"tip_minor": 1.5},
    ],
)
def test_invalid_order_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        totals([line("l1", 100)], **options)


@pytest.mark.parametrize(
    "bad_line",
    [
        line("l1", -100),
        line("l1", 100, 0),
        line("l1", 100, 1, LineTax(rate_id="t", name="t", rate="20")),
        line("l1", 10**12, 2),
    ],
)
def test_invalid_lines_are_refused(bad_line: OrderLine) -> None:
    with pytest.raises(InvalidInput):
        totals([bad_line])


def test_invalid_applied_discount_is_refused() -> None:
    with pytest.raises(InvalidInput):
        totals([line("l1", 100)], [percent_off("0")])


# --- the receipt ---------------------------------------------------------------------------------


def test_receipt_is_frozen() -> None:
    receipt = totals([line("l1", 100)])
    with pytest.raises(AttributeError):
        receipt.taxes = {}  # type: ignore[misc]


def test_receipt_balances_catches_a_tampered_receipt() -> None:
    receipt = totals([line("l1", 199, 3, NY)])
    wrong_total = msgspec.structs.replace(receipt.totals, total_minor=651)
    assert not receipt_balances(msgspec.structs.replace(receipt, totals=wrong_total), "exclusive")
    assert not receipt_balances(receipt, "inclusive")  # exclusive tax was added to the total
    wrong_bucket = msgspec.structs.replace(receipt, taxes={"tax-ny": 52})
    assert not receipt_balances(wrong_bucket, "exclusive")


# --- properties ----------------------------------------------------------------------------------

RATES = [NY, VAT, REDUCED, STATE, CITY, LineTax(rate_id="tax-zero", name="Zero", rate="0")]


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[OrderLine], list[AppliedDiscount]]:
    count = draw(st.integers(0, 6))
    lines = [
        line(
            f"l{index}",
            draw(st.integers(0, 50_000)),
            draw(st.integers(1, 20)),
            *draw(st.lists(st.sampled_from(RATES), max_size=3, unique_by=lambda t: t.rate_id)),
            voided=draw(st.booleans()),
        )
        for index in range(count)
    ]
    targets = st.sampled_from([None, *[item.id for item in lines]])
    discount = st.one_of(
        st.builds(
            percent_off, st.sampled_from(["5", "10", "12.5", "33.333", "50", "100"]), targets
        ),
        st.builds(amount_off, st.integers(1, 100_000), targets),
    )
    return lines, draw(st.lists(discount, max_size=5))


SETTINGS = {
    "service_charge_percent": st.sampled_from([None, "0", "10", "12.5", "15.75"]),
    "tax_mode": st.sampled_from(["exclusive", "inclusive"]),
    "rounding": st.sampled_from(["half_up", "half_even", "down"]),
}


def all_numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in all_numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in all_numbers(item)]
    return [value] if isinstance(value, int | float) else []


@settings(max_examples=200, deadline=None)
@given(order=orders(), **SETTINGS)
def test_any_receipt_balances_is_never_negative_and_holds_only_integers(
    order: tuple[list[OrderLine], list[AppliedDiscount]],
    service_charge_percent: str | None,
    tax_mode: str,
    rounding: str,
) -> None:
    lines, discounts = order
    receipt = compute_totals(
        lines,
        discounts,
        service_charge_percent=service_charge_percent,
        tax_mode=tax_mode,  # type: ignore[arg-type]
        rounding=rounding,  # type: ignore[arg-type]
    )
    assert receipt_balances(receipt, tax_mode)  # type: ignore[arg-type]
    numbers = all_numbers(msgspec.to_builtins(receipt))
    assert numbers and all(type(number) is int for number in numbers)
    totals_ = receipt.totals
    assert min(totals_.subtotal_minor, totals_.service_minor, totals_.tax_minor) >= 0
    assert 0 <= totals_.discount_minor <= totals_.subtotal_minor
    assert totals_.total_minor >= 0
    assert all(0 <= amounts.net_minor <= amounts.gross_minor for amounts in receipt.lines)
    assert all(amounts.tax_minor >= 0 for amounts in receipt.lines)
    if tax_mode == "inclusive":
        assert all(amounts.tax_minor <= amounts.net_minor for amounts in receipt.lines)


@settings(max_examples=200, deadline=None)
@given(order=orders(), paid_minor=st.integers(0, 10**7), tip_minor=st.integers(0, 10**5))
def test_balance_is_total_less_paid_and_tip_never_enters_the_total(
    order: tuple[list[OrderLine], list[AppliedDiscount]], paid_minor: int, tip_minor: int
) -> None:
    lines, discounts = order
    options: dict[str, Any] = {
        "service_charge_percent": "10",
        "tax_mode": "exclusive",
        "rounding": "half_up",
    }
    without_tip = compute_totals(lines, discounts, **options)
    receipt = compute_totals(
        lines, discounts, paid_minor=paid_minor, tip_minor=tip_minor, **options
    )
    assert receipt.totals.total_minor == without_tip.totals.total_minor
    assert receipt.totals.balance_minor == receipt.totals.total_minor - paid_minor
    assert receipt_balances(receipt, "exclusive")
