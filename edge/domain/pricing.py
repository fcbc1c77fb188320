"""Pricing one order line from the catalog.

The line is a snapshot: names, prices and tax rates are copied in, so a later catalog edit never
changes an order already rung up.
"""

from __future__ import annotations

from edge.domain.errors import InvalidInput
from edge.domain.money import check_minor, parse_rate
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

MAX_QUANTITY = 999


def price_line(
    item: Item,
    *,
    variant_id: str | None,
    option_ids: list[str],
    groups: dict[str, ModifierGroup],
    taxes: dict[str, TaxRate],
    category: Category | None,
    quantity: int,
    line_id: str,
    note: str | None = None,
) -> OrderLine:
    """Price ``quantity`` of ``item`` with the chosen variant and options as a new order line."""
    if item.archived:
        raise InvalidInput(f"item {item.name!r} is archived", item_id=item.id)
    check_quantity(quantity)
    variant = _choose_variant(item, variant_id)
    base_minor = item.price_minor if variant is None else variant.price_minor
    check_minor(base_minor, "price_minor")
    modifiers = _choose_modifiers(item, option_ids, groups)
    unit_price_minor = base_minor + sum(modifier.price_delta_minor for modifier in modifiers)
    # Negative options may lower the price, but never below zero.
    check_minor(unit_price_minor, "unit_price_minor")
    check_minor(unit_price_minor * quantity, "line amount")
    return OrderLine(
        id=line_id,
        item_id=item.id,
        # The variant's name is part of what was sold; keep it on the snapshot.
        name=item.name if variant is None else f"{item.name} ({variant.name})",
        variant_id=variant_id,
        unit_price_minor=unit_price_minor,
        modifiers=modifiers,
        quantity=quantity,
        taxes=_resolve_taxes(item, category, taxes),
        note=note,
    )


def check_quantity(quantity: int) -> int:
    """Return ``quantity`` if it is an int from 1 to MAX_QUANTITY, else raise InvalidInput."""
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidInput("quantity must be a whole number", quantity=repr(quantity))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}", quantity=quantity)
    return quantity


def _choose_variant(item: Item, variant_id: str | None) -> Variant | None:
    if not item.variants:
        if variant_id is not None:
            raise InvalidInput(f"item {item.name!r} has no variants", variant_id=variant_id)
        return None
    if variant_id is None:
        raise InvalidInput(f"choose a variant of {item.name!r}", item_id=item.id)
    for variant in item.variants:
        if variant.id == variant_id:
            return variant
    raise InvalidInput(f"unknown variant {variant_id!r} of {item.name!r}", variant_id=variant_id)


def _offered_groups(item: Item, groups: dict[str, ModifierGroup]) -> list[ModifierGroup]:
    offered: list[ModifierGroup] = []
    for group_id in dict.fromkeys(item.modifier_group_ids):  # de-duplicated, order kept
        group = groups.get(group_id)
        if group is None:
            # Catalog entities are archived, not deleted: a missing group means the caller did not
            # load it, and pricing without it could skip a required choice.
            raise InvalidInput(f"modifier group {group_id!r} was not given", group_id=group_id)
        if not group.archived:
            offered.append(group)
    return offered


def _choose_modifiers(
    item: Item, option_ids: list[str], groups: dict[str, ModifierGroup]
) -> list[LineModifier]:
    offered = _offered_groups(item, groups)
    owners: dict[str, ModifierGroup] = {}
    for group in offered:
        for option in group.options:
            owners.setdefault(option.id, group)  # an id shared by two groups belongs to the first
    if len(set(option_ids)) != len(option_ids):
        raise InvalidInput("an option was chosen twice", option_ids=list(option_ids))
    for option_id in option_ids:
        if option_id not in owners:
            raise InvalidInput(
                f"unknown option {option_id!r} for {item.name!r}", option_id=option_id
            )
    chosen = set(option_ids)
    modifiers: list[LineModifier] = []
    for group in offered:
        picked = [o for o in group.options if o.id in chosen and owners[o.id] is group]
        _check_selection_count(group, len(picked))
        # Catalog order, not tap order: the same choice always prints the same way.
        modifiers.extend(_line_modifier(group, option) for option in picked)
    return modifiers


def _check_selection_count(group: ModifierGroup, count: int) -> None:
    if count < group.min_select:
        raise InvalidInput(
            f"choose at least {group.min_select} from {group.name!r}",
            group_id=group.id,
            chosen=count,
        )
    if count > group.max_select:
        raise InvalidInput(
            f"choose at most {group.max_select} from {group.name!r}",
            group_id=group.id,
            chosen=count,
        )


def _line_modifier(group: ModifierGroup, option: ModifierOption) -> LineModifier:
    check_minor(option.price_delta_minor, "price_delta_minor", allow_negative=True)
    return LineModifier(
        option_id=option.id,
        group_id=group.id,
        name=option.name,
        price_delta_minor=option.price_delta_minor,
    )


def _resolve_taxes(
    item: Item, category: Category | None, taxes: dict[str, TaxRate]
) -> list[LineTax]:
    if category is not None and category.id != item.category_id:
        raise InvalidInput(
            f"category {category.id!r} is not the category of {item.name!r}",
            category_id=category.id,
        )
    if item.tax_rate_ids is not None:
        rate_ids = item.tax_rate_ids
    elif category is not None:
        rate_ids = category.tax_rate_ids
    else:
        # Guessing "no tax" here would under-charge; refuse instead.
        raise InvalidInput(
            f"{item.name!r} takes its taxes from its category, which was not given",
            category_id=item.category_id,
        )
    line_taxes: list[LineTax] = []
    for rate_id in dict.fromkeys(rate_ids):  # a rate listed twice is charged once
        tax = taxes.get(rate_id)
        if tax is None:
            raise InvalidInput(f"unknown tax rate {rate_id!r}", rate_id=rate_id)
        if tax.archived:
            continue
        parse_rate(tax.rate)  # refuse a malformed rate now rather than at totals time
        line_taxes.append(LineTax(rate_id=tax.id, name=tax.name, rate=tax.rate))
    return line_taxes
