"""What each kind of document holds: its named root maps, how their entries are encoded, and
which of them only ever grow.

Both sides read documents through this one table: the appliance projects them into its tables
(edge.store.collections adds where each root lands), and the relay checks every pushed change
against it (cloud.relay.policy). Three encodings (see shared.schemas.documents):

* ``encoded`` - one compact value per entry (shared.schemas.compact): single-writer entities;
* ``fields``  - a nested Map of stamped cells per entry (shared.schemas.stamped): entities two
  sides edit (catalog, people);
* ``flat``    - stamped cells straight in the root: settings and other shared scalars, each key
  typed by a field of the root's struct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import msgspec

from shared.schemas import documents as d

Mode = Literal["encoded", "fields", "flat"]
Kind = Literal["catalog", "people", "settings", "day", "pins"]


class PeopleMeta(msgspec.Struct, kw_only=True):
    """The flat values of a people document."""

    pin_pepper: str | None = None


class DaySealValue(msgspec.Struct, kw_only=True):
    """The flat value of a day document's seal root."""

    seal: d.DaySeal | None = None


@dataclass(frozen=True)
class Root:
    """One named root Map of a document."""

    name: str
    mode: Mode
    struct: type[msgspec.Struct]  # the entity; for a flat root, the struct naming its keys
    append_only: bool = False  # entries are only ever added: corrections are new entries


CATALOG = (
    Root("tax_rates", "fields", d.TaxRate),
    Root("categories", "fields", d.Category),
    Root("items", "fields", d.Item),
    Root("modifier_groups", "fields", d.ModifierGroup),
    Root("discounts", "fields", d.Discount),
)
PEOPLE = (
    Root("employees", "fields", d.Employee),
    Root("meta", "flat", PeopleMeta),
)
SETTINGS = (Root("settings", "flat", d.StoreSettings),)
# A store's PIN verifiers (shared.schemas.documents.StorePin) and their key: that store's only.
PINS = (Root("pins", "encoded", d.StorePin), Root("pin_keys", "flat", d.PinKeys))
DAY = (
    Root("orders", "encoded", d.Order),
    Root("payments", "encoded", d.Payment, append_only=True),
    Root("refunds", "encoded", d.Refund, append_only=True),
    Root("drawer_sessions", "encoded", d.DrawerSession),
    Root("drawer_entries", "encoded", d.DrawerEntry, append_only=True),
    Root("audit", "encoded", d.AuditEntry, append_only=False),  # one command's steps fold in
    Root("seal", "flat", DaySealValue),
)
ROOTS: dict[Kind, tuple[Root, ...]] = {
    "catalog": CATALOG,
    "people": PEOPLE,
    "settings": SETTINGS,
    "day": DAY,
    "pins": PINS,
}
_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def doc_kind(doc_id: str) -> Kind | None:
    """The kind of a document from the shape of its id; None for an id no document has."""
    parts = doc_id.split("/")
    if len(parts) == 3 and parts[0] == "org" and parts[2] in ("catalog", "people"):
        return "catalog" if parts[2] == "catalog" else "people"
    if len(parts) == 3 and parts[0] == "store" and parts[2] == "settings":
        return "settings"
    if len(parts) == 3 and parts[0] == "store" and parts[2] == "pins":
        return "pins"
    if len(parts) == 4 and parts[0] == "store" and parts[2] == "day" and _is_day(parts[3]):
        return "day"
    return None


def _is_day(text: str) -> bool:
    """A calendar day written YYYY-MM-DD (ASCII digits only: isdigit takes other scripts')."""
    if not _DAY_TEXT.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def doc_roots(doc_id: str) -> tuple[Root, ...]:
    """The roots a document holds, from the shape of its id (ValueError for an unknown id)."""
    kind = doc_kind(doc_id)
    if kind is None:
        raise ValueError(f"unknown document id {doc_id!r}")
    return ROOTS[kind]
