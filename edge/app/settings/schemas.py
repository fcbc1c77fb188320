"""Request body of the store-settings API."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from shared.schemas.edits import StoreSettingsPatch
from shared.schemas.fields import DecimalText, Minor

Denominations = Annotated[
    list[Annotated[int, msgspec.Meta(ge=1, le=10**7)]], msgspec.Meta(min_length=1, max_length=30)
]


class SettingsPatch(StoreSettingsPatch, kw_only=True, forbid_unknown_fields=True):
    """The settings to change; fields left out keep their value. The store's own rules beside
    what the owner may also edit from the relay."""

    discount_approval_percent: DecimalText | UnsetType = UNSET
    discount_approval_minor: Minor | UnsetType = UNSET
    denominations_minor: Denominations | UnsetType = UNSET
