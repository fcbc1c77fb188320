"""The PIN secrets older org people documents held, found and erased (appliance and relay alike).

Before PINs became a store's own (shared.schemas.documents.StorePin), the org's people document
held the org's pepper (``meta``, key ``pin_pepper``) and every employee's ``pin_tag`` and
``pin_hash``: any appliance, and the relay, could work out every PIN of the org. Each appliance
moves the verifiers of its own staff into its store's document (edge.app.pin_migration); the
relay then erases these cells from the people document and rewrites its stored history without
them (cloud.relay.pins). Erasing is deleting the cells: a Yjs document with garbage collection
keeps no content of a deleted value, so its snapshot holds none (the raw update log still does,
which is why both sides rewrite their history from a snapshot).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pycrdt

from shared.schemas import stamped

PEPPER = "pin_pepper"
FIELDS = frozenset({"pin_tag", "pin_hash"})
UNSTAMPED = frozenset({"", "local"})  # written before stamps, or before the store had its id


class LegacyPin(NamedTuple):
    """An employee's PIN verifier as the old people document held it."""

    pin_hash: str
    replica: str  # who set it: a store id ("" or "local" when unknown)


def _field(key: Any) -> str:
    return str(key).partition(stamped.SEP)[0]


def _entities(doc: pycrdt.Doc) -> list[tuple[str, pycrdt.Map]]:
    employees = doc.get("employees", type=pycrdt.Map)
    return [(str(k), v) for k, v in employees.items() if isinstance(v, pycrdt.Map)]


def _secret_keys(doc: pycrdt.Doc) -> list[tuple[pycrdt.Map, str]]:
    meta = doc.get("meta", type=pycrdt.Map)
    found = [(meta, str(k)) for k in meta if _field(k) == PEPPER]
    for _, entity in _entities(doc):
        found += [(entity, str(k)) for k in entity if _field(k) in FIELDS]
    return found


def _holds_value(mapping: pycrdt.Map, key: str) -> bool:
    try:
        return stamped.read_cell(key, mapping[key]).value is not None
    except stamped.UNREADABLE:
        return True  # unreadable, so unknown: erased with the rest


def holds_pin_secrets(doc: pycrdt.Doc) -> bool:
    """Whether a people document still holds the pepper or any employee's PIN verifier (a cell
    of those fields holding ``null``, as every employee record written whole has, is none)."""
    return any(_holds_value(mapping, key) for mapping, key in _secret_keys(doc))


def erase_pin_secrets(doc: pycrdt.Doc) -> int:
    """Delete every secret cell (call inside a transaction); how many were deleted."""
    found = _secret_keys(doc)
    for mapping, key in found:
        del mapping[key]
    return len(found)


def legacy_pins(doc: pycrdt.Doc) -> dict[str, LegacyPin]:
    """Every employee's PIN hash in an old people document, with the replica that set it.

    Unreadable cells are passed over: what cannot be read cannot log anyone in either.
    """
    found = {}
    for employee_id, entity in _entities(doc):
        cells = stamped.cells(dict(entity.items()), only="pin_hash", unreadable=[]).get("pin_hash")
        if cells and isinstance(cells[0].value, str):
            found[employee_id] = LegacyPin(cells[0].value, cells[0].stamp.replica)
    return found
