"""Pricing one order line from the catalog."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from edge.domain.errors import InvalidInput
from edge.domain.pricing import MAX_QUANTITY, check_quantity, price_line
from shared.schemas.documents import (
    Category,
    Item,
    LineModifier,
    LineTax,
    ModifierGroup,
    ModifierOption,
    OrderLine,
    TaxRate,
    Variant,
)

VAT = TaxRate(id="tax-vat", name="VAT", rate="0.20")
REDUCED = TaxRate(id="tax-reduced", name="Reduced", rate="0.05")
OLD = TaxRate(id="tax-old", name="Old", rate="0.175", archived=True)
TAXES = {tax.id: tax for tax in (VAT, REDUCED, OLD)}

DRINKS = Category(id="cat-drinks", name="Drinks", tax_rate_ids=["tax-vat"])

MILK = ModifierGroup(
    id="grp-milk",
    name="Milk",
    min_select=1,
    max_select=1,
    options=[
        ModifierOption(id="opt-whole", name="Whole"),
        ModifierOption(id="opt-oat", name="Oat", price_delta_minor=40),
    ],
)
EXTRAS = ModifierGroup(
    id="grp-extras",
    name="Extras",
    min_select=0,
    max_select=2,
    options=[
        ModifierOption(id="opt-shot", name="Extra shot", price_delta_minor=60),
        ModifierOption(id="opt-syrup", name="Vanilla syrup", price_delta_minor=50),
        ModifierOption(id="opt-cream", name="Cream", price_delta_minor=30),
    ],
)
GROUPS = {group.id: group for group in (MILK, EXTRAS)}

LATTE = Item(
    id="item-latte",
    name="Latte",
    category_id="cat-drinks",
    price_minor=450,
    variants=[
        Variant(id="var-small", name="Small", price_minor=400),
        Variant(id="var-large", name="Large", price_minor=500),
    ],
    modifier_group_ids=["grp-milk", "grp-extras"],
)
WATER = Item(id="item-water", name="Water", category_id="cat-drinks", price_minor=150)


def price(item: Item = LATTE, **overrides: Any) -> OrderLine:
    arguments: dict[str, Any] = {
        "variant_id": "var-large" if item.variants else None,
        "option_ids": ["opt-whole"] if item.modifier_group_ids else [],
        "groups": GROUPS,
        "taxes": TAXES,
        "category": DRINKS,
        "quantity": 1,
        "line_id": "line-1",
    }
    arguments.update(overrides)
    return price_line(item, **arguments)


# --- prices ---------------------------------------------------------------------------------------


def test_plain_item_takes_its_own_price_and_its_category_taxes() -> None:
    line = price(WATER, quantity=2, note="no ice")
    assert line == OrderLine(
        id="line-1",
        item_id="item-water",
        name="Water",
        unit_price_minor=150,
        quantity=2,
        taxes=[LineTax(rate_id="tax-vat", name="VAT", rate="0.20")],
        note="no ice",
    )


def test_variant_price_replaces_the_item_price_and_names_the_line() -> None:
    line = price(variant_id="var-small")
    assert line.unit_price_minor == 400
    assert line.variant_id == "var-small"
    assert line.name == "Latte (Small)"


def test_option_deltas_add_to_the_unit_price() -> None:
    line = price(option_ids=["opt-oat", "opt-shot", "opt-syrup"])
    assert line.unit_price_minor == 500 + 40 + 60 + 50


def test_modifiers_are_recorded_in_catalog_order_whatever_the_tap_order() -> None:
    line = price(option_ids=["opt-syrup", "opt-oat", "opt-shot"])
    assert line.modifiers == [
        LineModifier(option_id="opt-oat", group_id="grp-milk", name="Oat", price_delta_minor=40),
        LineModifier(
            option_id="opt-shot", group_id="grp-extras", name="Extra shot", price_delta_minor=60
        ),
        LineModifier(
            option_id="opt-syrup", group_id="grp-extras", name="Vanilla syrup", price_delta_minor=50
        ),
    ]


def test_a_negative_option_may_lower_the_price_but_not_below_zero() -> None:
    discount = ModifierGroup(
        id="grp-half",
        name="Half",
        options=[ModifierOption(id="opt-half", name="Half portion", price_delta_minor=-75)],
    )
    huge_cut = ModifierGroup(
        id="grp-free",
        name="Free",
        options=[ModifierOption(id="opt-free", name="Too much", price_delta_minor=-151)],
    )
    item = msgspec.structs.replace(WATER, modifier_group_ids=["grp-half", "grp-free"])
    groups = {"grp-half": discount, "grp-free": huge_cut}
    assert price(item, option_ids=["opt-half"], groups=groups).unit_price_minor == 75
    with pytest.raises(InvalidInput):
        price(item, option_ids=["opt-free"], groups=groups)


def test_line_is_only_integers_for_money() -> None:
    line = price(option_ids=["opt-oat"], quantity=3)
    assert type(line.unit_price_minor) is int
    assert type(line.quantity) is int
    assert all(type(modifier.price_delta_minor) is int for modifier in line.modifiers)


# --- item and variant ----------------------------------------------------------------------------


def test_archived_item_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price(msgspec.structs.replace(WATER, archived=True))


def test_item_with_variants_without_a_choice_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price(variant_id=None)


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(InvalidInput, match="var-huge"):
        price(variant_id="var-huge")


def test_variant_on_an_item_without_variants_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price(WATER, variant_id="var-small")


# --- modifiers -----------------------------------------------------------------------------------


def test_required_modifier_group_missing_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Milk"):
        price(option_ids=[])


def test_too_many_options_in_a_group_are_refused() -> None:
    with pytest.raises(InvalidInput, match="Extras"):
        price(option_ids=["opt-whole", "opt-shot", "opt-syrup", "opt-cream"])
    with pytest.raises(InvalidInput, match="Milk"):
        price(option_ids=["opt-whole", "opt-oat"])


def test_unknown_option_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="opt-ketchup") as caught:
        price(option_ids=["opt-whole", "opt-ketchup"])
    assert caught.value.context["option_id"] == "opt-ketchup"


def test_option_of_a_group_the_item_does_not_offer_is_refused() -> None:
    with pytest.raises(InvalidInput, match="opt-shot"):
        price(WATER, option_ids=["opt-shot"])


def test_duplicate_option_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price(option_ids=["opt-whole", "opt-shot", "opt-shot"])


def test_archived_group_is_not_offered_and_not_required() -> None:
    groups = {**GROUPS, "grp-milk": msgspec.structs.replace(MILK, archived=True)}
    assert price(option_ids=[], groups=groups).modifiers == []
    with pytest.raises(InvalidInput):
        price(option_ids=["opt-whole"], groups=groups)


def test_group_the_item_names_but_the_caller_did_not_load_is_refused() -> None:
    with pytest.raises(InvalidInput, match="grp-milk"):
        price(groups={"grp-extras": EXTRAS})


# --- quantity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 1.0, 2.5, True, "2", None])
def test_quantity_outside_one_to_999_or_not_an_int_is_refused(quantity: object) -> None:
    with pytest.raises(InvalidInput):
        price(quantity=quantity)


def test_quantity_bounds_are_inclusive() -> None:
    assert check_quantity(1) == 1
    assert price(WATER, quantity=MAX_QUANTITY).quantity == MAX_QUANTITY


# --- taxes ---------------------------------------------------------------------------------------


def test_item_tax_rates_override_the_category() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-reduced"])
    assert [tax.rate_id for tax in price(item).taxes] == ["tax-reduced"]


def test_item_with_an_empty_tax_list_is_untaxed() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=[])
    assert price(item).taxes == []


def test_archived_tax_rate_is_skipped() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-old", "tax-vat"])
    assert [tax.rate_id for tax in price(item).taxes] == ["tax-vat"]


def test_unknown_tax_rate_is_refused() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-moon"])
    with pytest.raises(InvalidInput, match="tax-moon"):
        price(item)


def test_tax_rate_listed_twice_is_charged_once() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-vat", "tax-vat"])
    assert len(price(item).taxes) == 1


def test_malformed_tax_rate_is_refused() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-bad"])
    taxes = {"tax-bad": TaxRate(id="tax-bad", name="Bad", rate="20")}
    with pytest.raises(InvalidInput):
        price(item, taxes=taxes)


def test_category_taxes_without_the_category_are_refused() -> None:
    with pytest.raises(InvalidInput, match="category"):
        price(WATER, category=None)


def test_item_with_its_own_taxes_needs_no_category() -> None:
    item = msgspec.structs.replace(WATER, tax_rate_ids=["tax-vat"])
    assert price(item, category=None).taxes[0].rate_id == "tax-vat"


def test_category_of_another_item_is_refused() -> None:
    food = Category(id="cat-food", name="Food", tax_rate_ids=["tax-reduced"])
    with pytest.raises(InvalidInput):
        price(WATER, category=food)
