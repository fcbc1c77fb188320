"""Changing a store's settings: each setting is a flat key, so edits of different keys merge."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.catalog.service import plain
from edge.app.context import Edge
from edge.app.settings.schemas import SettingsPatch
from edge.domain.business_day import parse_hhmm
from edge.domain.errors import InvalidInput
from edge.domain.money import check_minor, parse_percent
from edge.store.writer import WriteTx
from shared.schemas.documents import StoreSettings


@cache
def _time_zones() -> frozenset[str]:
    # The IANA names tzdata knows; ZoneInfo alone accepts directories such as "Europe" until use.
    return frozenset(available_timezones())


def normalise(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate the given settings and return them in the form kept in the document."""
    values = dict(changes)
    if "timezone" in values and values["timezone"] not in _time_zones():
        raise InvalidInput(f"{values['timezone']!r} is not a known time zone", field="timezone")
    if "business_day_cutoff" in values:
        parse_hhmm(values["business_day_cutoff"])
    for key in ("service_charge_percent", "discount_approval_percent"):
        if values.get(key) is not None:
            values[key] = plain(parse_percent(values[key]))
    if "discount_approval_minor" in values:
        check_minor(values["discount_approval_minor"], "discount_approval_minor")
    if "denominations_minor" in values:
        values["denominations_minor"] = sorted(set(values["denominations_minor"]))
    return values


def patch_settings(edge: Edge, actor: Actor, data: SettingsPatch) -> Callable[[WriteTx], Any]:
    """A command writing only the settings given; it returns the store's settings after it."""
    values = normalise(msgspec.to_builtins(data))

    def command(tx: WriteTx) -> StoreSettings:
        current = edge.settings(tx.conn)
        if not values:
            return current
        for key, value in values.items():
            tx.set(edge.settings_doc, "settings", key, value)
        audit(
            tx,
            edge,
            actor,
            "settings.update",
            "settings",
            edge.store_id,
            detail={"fields": sorted(values)},
        )
        tx.publish("settings.changed", {"fields": sorted(values)})
        return msgspec.structs.replace(current, **values)

    return command
