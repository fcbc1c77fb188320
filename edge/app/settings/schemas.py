"""Request body of the store-settings API."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from edge.app.catalog.schemas import HHMM, DecimalText, Minor, Name
from shared.schemas.documents import Rounding, TaxMode

Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. GBP")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/London"])]
Denominations = Annotated[
    list[Annotated[int, msgspec.Meta(ge=1, le=10**7)]], msgspec.Meta(min_length=1, max_length=30)
]


class SettingsPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The settings to change; fields left out keep their value."""

    name: Name | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    business_day_cutoff: HHMM | UnsetType = UNSET
    tax_mode: TaxMode | UnsetType = UNSET
    rounding: Rounding | UnsetType = UNSET
    service_charge_percent: DecimalText | UnsetType | None = UNSET
    discount_approval_percent: DecimalText | UnsetType = UNSET
    discount_approval_minor: Minor | UnsetType = UNSET
    denominations_minor: Denominations | UnsetType = UNSET
