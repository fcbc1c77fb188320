"""Edits both the appliance's API and the relay's owner API accept."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from shared.schemas.documents import Rounding, TaxMode
from shared.schemas.fields import HHMM, Currency, DecimalText, Name, TimeZone


class StoreSettingsPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The store settings to change; fields left out keep their value (and their last writer)."""

    name: Name | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    business_day_cutoff: HHMM | UnsetType = UNSET
    tax_mode: TaxMode | UnsetType = UNSET
    rounding: Rounding | UnsetType = UNSET
    service_charge_percent: DecimalText | UnsetType | None = UNSET
