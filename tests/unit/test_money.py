"""Money arithmetic: rounding, rates, allocation and amount guards."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.errors import InvalidInput
from edge.domain.money import (
    MAX_MINOR,
    allocate,
    apply_rate,
    apply_ratio,
    check_minor,
    check_rounding,
    parse_percent,
    parse_rate,
    round_minor,
    split_evenly,
    sum_rates,
)

FAST = settings(max_examples=200, deadline=None)
MODES = ["half_up", "half_even", "down"]
DECIMAL_MODE = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


# --- round_minor ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("2.5", "half_up", 3),
        ("2.5", "half_even", 2),
        ("3.5", "half_even", 4),
        ("2.9", "down", 2),
        ("-2.5", "half_up", -3),
        ("-2.5", "half_even", -2),
        ("-2.9", "down", -2),
        ("2.49999", "half_up", 2),
        ("7", "down", 7),
    ],
)
def test_round_minor_follows_the_named_mode(value: str, mode: str, expected: int) -> None:
    assert round_minor(Decimal(value), mode) == expected  # type: ignore[arg-type]


@FAST
@given(
    value=st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False),
    mode=st.sampled_from(MODES),
)
def test_round_minor_agrees_with_decimal_quantize(value: Decimal, mode: str) -> None:
    with localcontext() as context:
        context.prec = 50
        expected = int(value.quantize(Decimal(1), rounding=DECIMAL_MODE[mode]))
    result = round_minor(value, mode)  # type: ignore[arg-type]
    assert result == expected
    assert type(result) is int


def test_round_minor_ignores_a_low_precision_thread_context() -> None:
    with localcontext() as context:
        context.prec = 3
        assert round_minor(Decimal("123456.5"), "half_up") == 123457


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), 2.5, 3])
def test_round_minor_refuses_non_finite_or_non_decimal_values(value: object) -> None:
    with pytest.raises(InvalidInput):
        round_minor(value, "half_up")  # type: ignore[arg-type]


def test_unknown_rounding_mode_is_refused() -> None:
    with pytest.raises(InvalidInput):
        round_minor(Decimal("1.5"), "ceiling")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        check_rounding("up")  # type: ignore[arg-type]


# --- apply_rate / apply_ratio -------------------------------------------------------------------


def test_new_york_sales_tax_on_three_items_at_1_99() -> None:
    # 597 x 0.08875 = 52.98375
    assert apply_rate(597, Decimal("0.08875"), "half_up") == 53
    assert apply_rate(597, Decimal("0.08875"), "down") == 52


def test_apply_rate_rounds_exact_halves_by_mode() -> None:
    # 5 x 0.5 = 2.5 exactly
    assert apply_rate(5, Decimal("0.5"), "half_up") == 3
    assert apply_rate(5, Decimal("0.5"), "half_even") == 2
    assert apply_rate(5, Decimal("0.5"), "down") == 2


def test_apply_ratio_takes_the_vat_out_of_an_inclusive_price() -> None:
    # A £4.50 latte at 20 % VAT: 450 x 0.20 / 1.20 = 75
    assert apply_ratio(450, Decimal("0.20"), Decimal("1.20"), "half_up") == 75


def test_apply_ratio_rounds_once_on_the_exact_value() -> None:
    # 1 x 1 / 3 = 0.333..., 2 x 1 / 3 = 0.666...
    assert apply_ratio(1, Decimal(1), Decimal(3), "half_up") == 0
    assert apply_ratio(2, Decimal(1), Decimal(3), "half_up") == 1
    assert apply_ratio(2, Decimal(1), Decimal(3), "down") == 0


def test_apply_ratio_refuses_a_zero_denominator() -> None:
    with pytest.raises(InvalidInput):
        apply_ratio(100, Decimal(1), Decimal(0), "half_up")


@pytest.mark.parametrize(
    ("amount", "rate"), [(1.5, Decimal("0.2")), (100, 0.2), (True, Decimal(1))]
)
def test_apply_rate_refuses_floats_and_bools(amount: object, rate: object) -> None:
    with pytest.raises(InvalidInput):
        apply_rate(amount, rate, "half_up")  # type: ignore[arg-type]


@FAST
@given(
    amount=st.integers(min_value=0, max_value=MAX_MINOR),
    rate_text=st.decimals(min_value=0, max_value=1, places=5).map(str),
    mode=st.sampled_from(MODES),
)
def test_apply_rate_is_within_one_unit_of_the_exact_product(
    amount: int, rate_text: str, mode: str
) -> None:
    rate = parse_rate(rate_text)
    result = apply_rate(amount, rate, mode)  # type: ignore[arg-type]
    exact = Decimal(amount) * rate
    assert type(result) is int
    assert math.floor(exact) <= result <= math.ceil(exact)


def test_sum_rates_is_exact() -> None:
    assert sum_rates([Decimal(1), Decimal("0.08875"), Decimal("0.000000000001")]) == Decimal(
        "1.088750000001"
    )


# --- parse_rate / parse_percent ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.20", "0.2"), ("0", "0"), ("1", "1"), ("0.08875", "0.08875"), ("-0", "0"), ("2E-1", "0.2")],
)
def test_parse_rate_accepts_fractions_from_zero_to_one(text: str, expected: str) -> None:
    assert parse_rate(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    ["1.01", "-0.1", "NaN", "Infinity", "abc", "", "20%", "0.1234567890123", "1e-999999999"],
)
def test_parse_rate_refuses_values_outside_zero_to_one_or_not_decimal(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rate(text)


def test_parse_rate_counts_only_significant_places() -> None:
    assert parse_rate("0.200000000000000") == Decimal("0.2")


@pytest.mark.parametrize("value", [0.2, None, Decimal("0.2"), 1])
def test_parse_rate_refuses_anything_but_a_string(value: object) -> None:
    with pytest.raises(InvalidInput):
        parse_rate(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["0", "10", "12.5", "100", "33.3333333333"])
def test_parse_percent_accepts_zero_to_one_hundred(text: str) -> None:
    assert parse_percent(text) == Decimal(text)


@pytest.mark.parametrize("text", ["100.01", "-1", "sNaN", "-Infinity", "ten", "1.00000000001"])
def test_parse_percent_refuses_values_outside_zero_to_one_hundred(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_percent(text)


# --- allocate / split_evenly ---------------------------------------------------------------------


def test_allocate_splits_proportionally_by_largest_remainder() -> None:
    # shares 33.33.., 33.33.., 33.33..: the one left-over unit goes to the first (tie by index)
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    # shares 16.66.., 33.33.., 50: the largest remainder (0.66..) takes the unit
    assert allocate(100, [1, 2, 3]) == [17, 33, 50]


def test_allocate_gives_nothing_to_zero_weights() -> None:
    assert allocate(10, [0, 5, 0, 5]) == [0, 5, 0, 5]


def test_allocate_with_all_zero_weights_splits_evenly() -> None:
    assert allocate(10, [0, 0, 0]) == [4, 3, 3]


def test_allocate_is_sign_symmetric() -> None:
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


def test_allocate_over_no_parts_is_refused_unless_nothing_to_allocate() -> None:
    assert allocate(0, []) == []
    with pytest.raises(InvalidInput):
        allocate(1, [])


@pytest.mark.parametrize("weights", [[1, -1], [1.5, 1], [True, 1]])
def test_allocate_refuses_negative_or_non_integer_weights(weights: list[int]) -> None:
    with pytest.raises(InvalidInput):
        allocate(10, weights)


@FAST
@given(
    total=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20),
)
def test_allocate_sums_exactly_and_keeps_each_part_within_its_share(
    total: int, weights: list[int]
) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    assert all(type(part) is int for part in parts)
    effective = weights if any(weights) else [1] * len(weights)
    weight_sum = sum(effective)
    for part, weight in zip(parts, effective, strict=True):
        floor = (total * weight) // weight_sum
        ceil = -((-total * weight) // weight_sum)
        assert floor <= part <= ceil


@FAST
@given(
    total=st.integers(min_value=0, max_value=MAX_MINOR),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10),
)
def test_allocate_negated_total_gives_negated_parts(total: int, weights: list[int]) -> None:
    assert allocate(-total, weights) == [-part for part in allocate(total, weights)]


def test_split_evenly_gives_the_extra_units_to_the_first_parts() -> None:
    assert split_evenly(1000, 3) == [334, 333, 333]
    assert split_evenly(-5, 2) == [-3, -2]


@pytest.mark.parametrize("parts", [0, -1, 2.0])
def test_split_evenly_refuses_fewer_than_one_part(parts: object) -> None:
    with pytest.raises(InvalidInput):
        split_evenly(100, parts)  # type: ignore[arg-type]


@FAST
@given(total=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR), parts=st.integers(1, 50))
def test_split_evenly_parts_differ_by_at_most_one(total: int, parts: int) -> None:
    split = split_evenly(total, parts)
    assert sum(split) == total
    assert max(split) - min(split) <= 1


# --- check_minor ---------------------------------------------------------------------------------


def test_check_minor_returns_a_valid_amount() -> None:
    assert check_minor(0, "x") == 0
    assert check_minor(MAX_MINOR, "x") == MAX_MINOR
    assert check_minor(-5, "x", allow_negative=True) == -5


@pytest.mark.parametrize("value", [MAX_MINOR + 1, -1, 1.0, True, "5", None, Decimal(5)])
def test_check_minor_refuses_floats_bools_negatives_and_huge_values(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_minor(value, "amount_minor")  # type: ignore[arg-type]
    assert caught.value.context["field"] == "amount_minor"


def test_check_minor_bounds_negative_amounts_too() -> None:
    with pytest.raises(InvalidInput):
        check_minor(-MAX_MINOR - 1, "x", allow_negative=True)
