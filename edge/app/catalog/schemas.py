"""Request and response bodies of the catalog API.

Create bodies mirror the document entities (shared.schemas.documents) with an optional client-born
``id``; patch bodies are the same fields, each optional (``UNSET`` = leave that field alone), built
from the create bodies so the two can never drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from shared.schemas.documents import Category, Discount, Item, ModifierGroup, TaxRate
from shared.schemas.fields import HHMM, Code, DecimalText, Minor, Name, Uuid

Ids = Annotated[list[Uuid], msgspec.Meta(max_length=200)]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6, description="0 = Monday")]


class _Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class TaxRateIn(_Body, kw_only=True):
    id: Uuid | None = None
    name: Name
    rate: DecimalText  # fraction: "0.20" is 20 %


class CategoryIn(_Body, kw_only=True):
    id: Uuid | None = None
    name: Name
    tax_rate_ids: Ids = []
    sort: Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)] = 0


class OptionIn(_Body, kw_only=True):
    id: Uuid | None = None  # None: kept from the option of the same name, or a new id
    name: Name
    price_delta_minor: Minor = 0


class ModifierGroupIn(_Body, kw_only=True):
    id: Uuid | None = None
    name: Name
    min_select: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0
    max_select: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1
    options: Annotated[list[OptionIn], msgspec.Meta(max_length=100)] = []


class VariantIn(_Body, kw_only=True):
    id: Uuid | None = None  # None: kept from the variant of the same name, or a new id
    name: Name
    price_minor: Minor


class ItemIn(_Body, kw_only=True):
    id: Uuid | None = None
    name: Name
    category_id: Uuid
    price_minor: Minor
    variants: Annotated[list[VariantIn], msgspec.Meta(max_length=50)] = []
    modifier_group_ids: Ids = []
    tax_rate_ids: Ids | None = None  # None: the category's rates
    sku: Code | None = None
    barcode: Code | None = None


class WindowIn(_Body, kw_only=True):
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6]
    )
    start: HHMM
    end: HHMM  # before start: crosses midnight; "24:00" allowed


class DiscountIn(_Body, kw_only=True):
    id: Uuid | None = None
    name: Name
    kind: Literal["percent", "amount"]
    scope: Literal["order", "item"]
    percent: DecimalText | None = None  # "10" is 10 %
    amount_minor: Minor | None = None
    item_ids: Ids = []
    category_ids: Ids = []
    window: WindowIn | None = None


def _patch_of(body: type[_Body]) -> type[_Body]:
    """The patch body of a create body: every field but ``id`` optional, plus ``archived``."""
    fields: list[tuple[str, Any, Any]] = [
        (f.name, f.type | UnsetType, UNSET) for f in msgspec.structs.fields(body) if f.name != "id"
    ]
    fields.append(("archived", bool | UnsetType, UNSET))
    name = body.__name__.removesuffix("In") + "Patch"
    return msgspec.defstruct(name, fields, bases=(_Body,), kw_only=True, module=__name__)


TaxRatePatch = _patch_of(TaxRateIn)
CategoryPatch = _patch_of(CategoryIn)
ModifierGroupPatch = _patch_of(ModifierGroupIn)
ItemPatch = _patch_of(ItemIn)
DiscountPatch = _patch_of(DiscountIn)


class Catalog(msgspec.Struct, kw_only=True):
    """Everything a tablet needs to ring up a sale."""

    categories: list[Category]
    items: list[Item]
    modifier_groups: list[ModifierGroup]
    tax_rates: list[TaxRate]
    discounts: list[Discount]
