"""Documents edited on the relay: the owner's catalog and settings edits, as ordinary updates.

A document is edited on its shadow (see ``shadows``: the relay's live copy, level with storage),
and the update the edit made is appended through ``storage.append`` like a device's push: logged,
deduplicated, numbered, then hinted to the stores. The layout is the
edge's (see shared.schemas.layout): catalog entities are a nested ``Map`` of stamped field cells,
settings are stamped cells of the ``settings`` map. Edits write only the fields they name, so a
store's concurrent edit of another field survives the merge. Reads take entries as every replica
does (``entries``): what cannot be read is skipped, never a failure of the whole read.

DocumentError
 ├── EntityNotFound   the entity to edit is not in the document
 ├── InvalidEdit      the edited entity would not be valid
 └── EditConflict     a unique value already held by another entity
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Generic, TypeVar
from zoneinfo import available_timezones

import msgspec
import pycrdt

from cloud.relay.entries import read_entity, read_flat
from cloud.relay.shadows import Shadows
from cloud.relay.storage.base import Storage
from shared.schemas import stamped
from shared.schemas.documents import Item, StoreSettings
from shared.schemas.stamped import Stamping
from shared.schemas.sync import PushAck, Update, update_hash

log = logging.getLogger("fynlo.relay")
RELAY_REPLICA = "relay"  # how the relay's edits name their writer in a field's stamp
T = TypeVar("T")

_CLIENT_ID_LIMIT = 2**53  # Yjs client ids must stay exact in JavaScript numbers
_MAX_PERCENT_PLACES = 10  # as the edge accepts


class DocumentError(Exception):
    """Base of the refusals of a document edit."""


class EntityNotFound(DocumentError):
    pass


class InvalidEdit(DocumentError):
    pass


class EditConflict(DocumentError):
    pass


def new_client_id() -> int:
    """A Yjs client id for this relay process (below 2^53).

    Minted per process, never stored: several relay processes on one database (or a relay
    restored from a backup) must never write under one id with clashing clocks. Edits within a
    process are serialised per document and each reloads the document, so its clock continues.
    """
    return secrets.randbelow(_CLIENT_ID_LIMIT - 1) + 1


@dataclass
class Edited(Generic[T]):
    """What an edit returned, and the append of its update (None when it changed nothing)."""

    result: T
    ack: PushAck | None


@dataclass
class Documents:
    """Reads and edits documents held in the relay's storage, through their shadows."""

    storage: Storage
    shadows: Shadows
    clock: Callable[[], int]

    async def read(self, doc_id: str, read: Callable[[pycrdt.Doc], T]) -> T:
        """``read`` of the document as storage holds it now (an empty one when unknown)."""
        async with self.shadows.use(doc_id) as shadow:
            return read(shadow.doc)

    async def edit(
        self, doc_id: str, change: Callable[[pycrdt.Doc, Stamping], T], by: str | None = None
    ) -> Edited[T]:
        """Run ``change`` on the current document and append the update it makes.

        The fields it writes are stamped with this relay's clock and ``by`` (who edits).

        ``change`` validates before it writes; if it raises, nothing is appended and the shadow
        is dropped, so a refused edit leaves no trace.
        """
        async with self.shadows.use(doc_id) as shadow:
            doc = shadow.doc
            captured: list[bytes] = []
            subscription = doc.observe(lambda event: captured.append(event.update))
            try:
                with doc.transaction():
                    result = change(doc, Stamping(self.clock(), RELAY_REPLICA, by))
            finally:
                doc.unobserve(subscription)
            if not captured:
                return Edited(result, None)
            body = captured[0] if len(captured) == 1 else pycrdt.merge_updates(*captured)
            update = Update(hash=update_hash(body), body=body)
            ack = await self.storage.append(doc_id, [update], self.clock(), doc.get_state())
            shadow.follow(ack)
            return Edited(result, ack)


def doc_conflicts(doc_id: str, doc: pycrdt.Doc) -> list[stamped.ConflictRecord]:
    """The conflicts of every root map of a document of shared fields: an entity's map of cells,
    or a flat map whose cells are themselves the values (settings). Unreadable cells are skipped
    here (the sync checks report them)."""
    found: list[stamped.ConflictRecord] = []

    def add(collection: str, entity: str, cells: Any) -> None:
        try:
            conflicts = stamped.conflicts(cells, [])  # unreadable cells: listed elsewhere
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            return
        for c in conflicts:
            where = {"doc_id": doc_id, "collection": collection, "entity_id": entity or c.field}
            found.append(stamped.ConflictRecord(**where, **msgspec.structs.asdict(c)))

    for name in list(doc):
        root = doc.get(name, type=pycrdt.Map)
        flat = {k: v for k, v in root.items() if isinstance(v, str)}
        add(name, "", flat)
        for key, entity in root.items():
            if isinstance(entity, pycrdt.Map):
                add(name, str(key), dict(entity.items()))
    return found


# --- catalog items -------------------------------------------------------------------------------


def _fields(entity: pycrdt.Map) -> dict[str, Any]:
    """An entity's fields, each its latest readable cell's value."""
    return stamped.values(entity, [])


def read_items(doc: pycrdt.Doc) -> list[Item]:
    """Every readable item of a catalog document, by name; unreadable ones are skipped (listed
    at GET /api/v1/orgs/{org}/quarantine)."""
    items = []
    for key, entity in doc.get("items", type=pycrdt.Map).items():
        try:
            items.append(read_entity(entity, Item, str(key), []))
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable catalog item %s skipped: %s", key, exc)
    return sorted(items, key=lambda item: (item.name.casefold(), item.id))


def _live_ids(doc: pycrdt.Doc, collection: str) -> set[str]:
    """Ids of the unarchived entities of a per-field collection."""
    live = set()
    for key, entity in doc.get(collection, type=pycrdt.Map).items():
        if isinstance(entity, pycrdt.Map) and _fields(entity).get("archived") is not True:
            live.add(str(key))
    return live


def _check_item_refs(doc: pycrdt.Doc, item: Item, changed: set[str]) -> None:
    """References and unique codes, checked only where the edit sets them (as the edge does)."""
    if "category_id" in changed and item.category_id not in _live_ids(doc, "categories"):
        raise InvalidEdit(f"category_id: there is no category {item.category_id}")
    for column in ("sku", "barcode"):
        value = getattr(item, column)
        if value is None or column not in changed:
            continue
        for other in read_items(doc):
            if other.id != item.id and not other.archived and getattr(other, column) == value:
                raise EditConflict(f"Item {other.id} already has {column} {value!r}.")


def patch_item(doc: pycrdt.Doc, item_id: str, patch: dict[str, Any], stamping: Stamping) -> Item:
    """Write the given fields of an existing item, validated whole; return the item after."""
    entity = doc.get("items", type=pycrdt.Map).get(item_id)
    if not isinstance(entity, pycrdt.Map):
        raise EntityNotFound(f"There is no item {item_id} in the catalog.")
    try:
        item = msgspec.convert({**_fields(entity), **patch, "id": item_id}, Item)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidEdit(f"The item would not be valid: {exc}") from exc
    _check_item_refs(doc, item, set(patch))
    for name in patch:
        stamped.write(entity, name, getattr(item, name), stamping)  # unchanged: kept as it is
    return item


# --- store settings ------------------------------------------------------------------------------


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _percent(text: str) -> str:
    """A percentage in [0, 100] as the edge keeps it (plain decimal text)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidEdit(f"service_charge_percent: {text!r} is not a decimal number") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise InvalidEdit("service_charge_percent must be between 0 and 100")
    if value.is_zero():
        return "0"
    # Trailing zeros ("12.50") are not real places; count the significant ones only.
    digits = "".join(map(str, value.as_tuple().digits))
    trailing = len(digits) - len(digits.rstrip("0"))
    if int(value.as_tuple().exponent) + trailing < -_MAX_PERCENT_PLACES:
        raise InvalidEdit(f"service_charge_percent has over {_MAX_PERCENT_PLACES} decimal places")
    return format(value, "f")


def _normalise_settings(patch: dict[str, Any]) -> dict[str, Any]:
    values = dict(patch)
    if "timezone" in values and values["timezone"] not in _time_zones():
        raise InvalidEdit(f"{values['timezone']!r} is not a known time zone")
    cutoff = values.get("business_day_cutoff")
    if cutoff is not None and (int(cutoff[:2]) > 23 or int(cutoff[3:]) > 59):
        raise InvalidEdit(f"{cutoff!r} is not a time of day between 00:00 and 23:59")
    if values.get("service_charge_percent") is not None:
        values["service_charge_percent"] = _percent(values["service_charge_percent"])
    return values


def read_settings(doc: pycrdt.Doc) -> StoreSettings:
    """A store's settings from its settings document (defaults for keys never written, and for
    values that cannot be read: those are listed at GET /api/v1/orgs/{org}/quarantine)."""
    root = doc.get("settings", type=pycrdt.Map)
    problems: dict[str, str] = {}
    values = read_flat(root, StoreSettings, problems)
    if problems:
        log.warning("unreadable store settings skipped: %s", "; ".join(problems.values()))
    # Dotted names are other flat settings (printers, ...), not fields of StoreSettings.
    return msgspec.convert({k: v for k, v in values.items() if "." not in k}, StoreSettings)


def patch_settings(doc: pycrdt.Doc, patch: dict[str, Any], stamping: Stamping) -> StoreSettings:
    """Write the given flat settings keys, validated with the rest; return the settings after."""
    values = _normalise_settings(patch)
    try:
        settings = msgspec.structs.replace(read_settings(doc), **values)
        settings = msgspec.convert(msgspec.to_builtins(settings), StoreSettings)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidEdit(f"The settings would not be valid: {exc}") from exc
    root = doc.get("settings", type=pycrdt.Map)
    for key in values:
        stamped.write(root, key, getattr(settings, key), stamping)
    return settings
