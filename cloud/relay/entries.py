"""Entries of stored documents as every replica reads them, and those that no replica can read.

The relay stores what it was given; an entry written in a shape its document's layout
(shared.schemas.layout) does not allow - before the relay checked pushes, or by a bug - must not
break the owner's reads. Each read here takes an entry as the appliances take it: a field of a
per-field entity or a flat value is its latest *readable* cell (a cell that is not text, not JSON
or not stamped is left out), and an entity that still does not read as its struct is skipped. What
was skipped is listed for the owner (``unreadable``), who may remove it (``remove``): an ordinary
edit of the document, which every replica pulls, and which clears it from the appliances'
quarantine too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import pycrdt

from cloud.relay.storage.base import NotFound, Storage
from shared.schemas import compact, stamped
from shared.schemas.layout import Root, doc_kind, doc_roots

T = TypeVar("T", bound=msgspec.Struct)


class Unreadable(msgspec.Struct, frozen=True, kw_only=True):
    """An entry no replica can read as its layout says: skipped by every read."""

    doc_id: str
    collection: str  # the root map
    key: str  # the entity (of a flat root: the field); '': the whole root, unknown to its kind
    error: str
    entries: int = 1  # for a whole root: how many entries it holds


class EntryMissing(Exception):
    """Nothing to remove at that place."""


def read_entity(entity: Any, struct: type[T], key: str, unreadable: list[str]) -> T:
    """A per-field entity: the winners of its readable cells as ``struct`` (the keys of the cells
    that cannot be read added to ``unreadable``); msgspec.ValidationError when it is no such
    entity."""
    if not isinstance(entity, pycrdt.Map):
        raise msgspec.ValidationError("not a map of field cells")
    return msgspec.convert({**stamped.values(entity, unreadable), "id": key}, struct)


def read_flat(
    root: pycrdt.Map, struct: type[msgspec.Struct], problems: dict[str, str] | None = None
) -> dict[str, Any]:
    """The flat values of a root that have their field's type (keys the struct does not name,
    such as dotted printer settings, are taken as they are); what is wrong with each other one,
    and with fields read past an unreadable cell, goes into ``problems`` by field."""
    types = {f.name: f.type for f in msgspec.structs.fields(struct)}
    good: dict[str, Any] = {}
    found = {} if problems is None else problems
    unreadable: list[str] = []
    for name, value in stamped.values(root, unreadable).items():
        try:
            good[name] = msgspec.convert(value, types[name]) if name in types else value
        except msgspec.ValidationError as exc:
            found[name] = f"{name}: {exc}"
    for key in sorted(unreadable):
        name = key.partition(stamped.SEP)[0]
        found.setdefault(name, f"unreadable cells left out: {key}")
    return good


def unreadable(doc_id: str, doc: pycrdt.Doc) -> list[Unreadable]:
    """Every entry of a document that cannot be read as its kind's layout says, and every root
    its kind does not hold (all its roots, for an id no document kind has) that holds entries."""
    roots = {r.name: r for r in doc_roots(doc_id)} if doc_kind(doc_id) else {}
    found: list[Unreadable] = []
    for name in sorted(doc.keys()):
        held = len(doc.get(name, type=pycrdt.Map))
        root = roots.get(name)
        if root is None:
            if held:
                what = "no such root in a document of its kind" if roots else "no such document"
                found.append(Unreadable(doc_id=doc_id, collection=name, key="", error=what,
                                        entries=held))  # fmt: skip
            continue
        found += _unreadable_in(doc_id, doc.get(name, type=pycrdt.Map), root)
    return found


def _unreadable_in(doc_id: str, root_map: pycrdt.Map, root: Root) -> list[Unreadable]:
    def entry(key: str, error: str) -> Unreadable:
        return Unreadable(doc_id=doc_id, collection=root.name, key=key, error=error)

    if root.mode == "flat":
        problems: dict[str, str] = {}
        read_flat(root_map, root.struct, problems)
        return [entry(name, error) for name, error in sorted(problems.items())]
    found = []
    for key, value in sorted(root_map.items(), key=lambda kv: str(kv[0])):
        cells: list[str] = []
        try:
            if root.mode == "encoded":
                if not isinstance(value, bytes | bytearray | str):
                    raise msgspec.ValidationError("not a compact entity")
                compact.decode(value, root.struct, key)
            else:
                read_entity(value, root.struct, key, cells)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            found.append(entry(key, str(exc)))
            continue
        if cells:
            found.append(entry(key, f"unreadable cells left out: {', '.join(sorted(cells))}"))
    return found


def remove(root_name: str, key: str | None) -> Callable[[pycrdt.Doc, stamped.Stamping], int]:
    """An edit that removes an entry (of a flat root: every cell of that field, or the one cell
    named), or with no key every entry of the root; it answers how many keys went.
    EntryMissing when there is nothing there."""

    def change(doc: pycrdt.Doc, stamping: stamped.Stamping) -> int:
        if root_name not in doc:
            raise EntryMissing(f"The document holds no {root_name!r}.")
        root = doc.get(root_name, type=pycrdt.Map)
        keys = [str(k) for k in root]
        if key is not None:  # the entry, or every cell of the flat value of that name
            cells = [k for k in keys if k.startswith(key + stamped.SEP)]
            keys = ([key] if key in keys else []) + (cells if stamped.SEP not in key else [])
        if not keys:
            what = f"{root_name}/{key}" if key is not None else f"an entry in {root_name}"
            raise EntryMissing(f"The document holds no {what}.")
        for name in keys:
            del root[name]
        return len(keys)

    return change


async def org_documents(storage: Storage, org_id: str) -> list[str]:
    """The documents of an org and its stores, but their days (one at a time: they are many)."""
    stores = await storage.list_stores(org_id)
    heads = await storage.heads([f"org/{org_id}/", *(f"store/{s.id}/" for s in stores)])
    return sorted(h.doc_id for h in heads if doc_kind(h.doc_id) != "day")


async def of_org(storage: Storage, org_id: str, doc_id: str) -> bool:
    """Whether ``doc_id`` is a document of the org or of one of its stores."""
    parts = doc_id.split("/")
    if len(parts) < 3:
        return False
    if parts[0] == "org":
        return parts[1] == org_id
    if parts[0] != "store":
        return False
    try:
        return (await storage.get_store(parts[1])).org_id == org_id
    except NotFound:
        return False
