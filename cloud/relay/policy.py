"""What a store's appliance may change in a document: checked on the relay's shadow of it.

The relay trusts no device (DESIGN: Sync). A push is applied to the shadow of its document with
an observer on every root, so the check sees exactly what the push changed, whatever bytes made
the change, and costs what the push touched, not what the document holds. Each touched entry is
then read back as every replica will read it and checked against the document's layout
(shared.schemas.layout) and the rights of a store's appliance:

* only the roots its kind of document holds, each entry readable as its struct (an item is a map
  of cells, an order decodes as an Order of that day, a setting has the type of its field);
* entries of append-only roots (payments, refunds, till entries) are only added, and no
  single-writer entry or catalog/people entity is ever deleted (they are archived or voided);
* cells are stamped, and not from the future: a stamp ahead of the relay's clock would win every
  later edit of its field;
* never an owner: an appliance neither creates an owner nor changes an owner's entry, and it never
  writes the people document's secrets (the relay mints them) nor a PIN verifier into it (they
  live in each store's own pins document);
* no card number in any text (shared.cards).

A refusal names the document, the entry and the rule; the push is refused whole and nothing is
stored (the shadow, which holds it, is dropped). The owner's own edits on the relay do not pass
here: the owner is not a device.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pycrdt

from cloud.relay.shadows import ShadowError
from shared.cards import CODE_FIELDS, CardNumberFound, refuse_card_numbers
from shared.schemas import compact, stamped
from shared.schemas.layout import Root, doc_kind, doc_roots

MAX_AHEAD_MS = 15 * 60 * 1000  # clocks of appliances and relay agree far better than this
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
RELAY_ONLY_ROOTS = frozenset({"meta"})  # the people document's secrets: minted by the relay
# Fields older releases wrote that now must stay empty: an org-wide PIN verifier would hand every
# appliance of the org the PINs of every store (they live in store/{store}/pins).
_RETIRED = {"employees": ("pin_hash", "pin_tag")}


class Refused(ShadowError):
    """A pushed change the device may not make (403) or that no reader could read (422)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        doc_id: str,
        root: str | None = None,
        key: str | None = None,
    ) -> None:
        where = f"{doc_id} {root or ''}{'/' + key if key else ''}".strip()
        super().__init__(f"{where}: {detail}")
        self.status, self.code = status, code
        self.doc_id, self.root, self.key = doc_id, root, key


@dataclass
class Touched:
    """What one push did to one entry of a root."""

    action: str | None = None  # at the root: "add", "update", "delete"; None: only inside it
    old: Any = None  # the value it replaced or deleted (at the root)
    added: set[str] = field(default_factory=set)  # cells added inside an entity
    # Every (cell key, text) the push deleted or overwrote inside an entity, in order: several
    # updates in one push may write one key twice, and each value it held counts.
    replaced: list[tuple[str, Any]] = field(default_factory=list)
    deep: bool = False  # something changed below an entity's cells


class Watch:
    """Records the changes a batch of updates makes to a document, root by root."""

    def __init__(self, doc: pycrdt.Doc, names: set[str]) -> None:
        self.before = set(doc.keys())
        self.touched: dict[tuple[str, str], Touched] = {}
        self._subs = []
        for name in sorted(self.before | names):
            root = doc.get(name, type=pycrdt.Map)
            self._subs.append((root, root.observe_deep(self._recorder(name))))

    def _recorder(self, name: str) -> Any:
        def record(events: list[Any]) -> None:
            for event in events:
                path = list(event.path)
                for key, change in dict(event.keys).items():
                    if not path:
                        t = self._at(name, str(key))
                        t.action, t.old = change["action"], change.get("oldValue")
                        continue
                    t = self._at(name, str(path[0]))
                    if len(path) > 1:
                        t.deep = True
                        continue
                    if change["action"] != "delete":
                        t.added.add(str(key))
                    if change["action"] != "add":
                        t.replaced.append((str(key), change.get("oldValue")))

        return record

    def _at(self, root: str, key: str) -> Touched:
        found = self.touched.get((root, key))
        if found is None:
            found = self.touched[(root, key)] = Touched()
        return found

    def close(self) -> None:
        for root, sub in self._subs:
            root.unobserve(sub)


@contextmanager
def watching(doc: pycrdt.Doc, doc_id: str) -> Iterator[Watch]:
    """Observe ``doc`` while the body runs (the push is applied)."""
    kind = doc_kind(doc_id)
    watch = Watch(doc, {r.name for r in doc_roots(doc_id)} if kind else set())
    try:
        yield watch
    finally:
        watch.close()


def check(
    doc: pycrdt.Doc,
    doc_id: str,
    watch: Watch,
    store_id: str,
    now_ms: int,
    owner_ids: frozenset[str] = frozenset(),
) -> None:
    """Refused unless every change ``watch`` saw is one a store's appliance may make;
    ``owner_ids`` are the org's owner accounts (their staff entries are the relay's)."""
    if doc_kind(doc_id) is None:
        raise Refused(422, "unknown-document", "no document of this kind exists", doc_id)
    roots = {r.name: r for r in doc_roots(doc_id)}
    strange = (set(doc.keys()) - watch.before) | {name for name, _ in watch.touched}
    for name in sorted(strange - set(roots)):
        detail = f"a {doc_kind(doc_id)} document has no {name!r}"
        raise Refused(422, "unknown-root", detail, doc_id, name)
    for (name, key), touched in sorted(watch.touched.items()):
        root = roots[name]
        rule = _Rule(doc, doc_id, root, key, touched, now_ms, owner_ids)
        if root.name in RELAY_ONLY_ROOTS:
            rule.refuse(403, "relay-only", "only the relay writes these values")
        if root.mode == "encoded":
            rule.encoded()
        elif root.mode == "fields":
            rule.fields()
        else:
            rule.flat()


@dataclass
class _Rule:
    doc: pycrdt.Doc
    doc_id: str
    root: Root
    key: str
    touched: Touched
    now_ms: int
    owner_ids: frozenset[str]

    def refuse(self, status: int, code: str, detail: str) -> None:
        raise Refused(status, code, detail, self.doc_id, self.root.name, self.key)

    def _no_cards(self, value: Any) -> None:
        try:
            refuse_card_numbers(value)
        except CardNumberFound as exc:
            self.refuse(422, "card-number", str(exc))

    def encoded(self) -> None:
        t, name = self.touched, self.root.name
        if t.action is None or t.deep:
            self.refuse(422, "entity-invalid", f"an entry of {name} is one value, not a map")
        if t.action == "delete":
            self.refuse(403, "delete-refused", f"entries of {name} are never deleted")
        if t.action == "update" and self.root.append_only:
            self.refuse(403, "append-only", f"{name} only grows: a correction is a new entry")
        if not _UUID.match(self.key):
            self.refuse(422, "entity-invalid", "an entry's key is its id, a lower-case UUID")
        raw = self.doc.get(name, type=pycrdt.Map).get(self.key)
        if not isinstance(raw, bytes | bytearray | str):
            self.refuse(422, "entity-invalid", f"an entry of {name} is compact bytes")
        try:
            value = compact.decode(raw, self.root.struct, self.key)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.refuse(422, "entity-invalid", f"not a readable {self.root.struct.__name__}: {exc}")
        day = self.doc_id.rsplit("/", 1)[1]
        if getattr(value, "business_day", day) != day:
            self.refuse(422, "entity-invalid", f"an order of another day than {day}")
        # The bytes as stored, not only what the struct reads: a value past the struct's fields
        # is ignored by readers but kept and served by the relay all the same.
        self._no_cards(_plain(raw))

    def fields(self) -> None:
        t, name = self.touched, self.root.name
        entity = self.doc.get(name, type=pycrdt.Map).get(self.key)
        if t.action == "delete":
            self.refuse(403, "delete-refused", f"{name} are archived, never deleted")
        if t.action == "update":
            self.refuse(422, "entity-invalid", "an entity's map is never replaced: edit its cells")
        if not isinstance(entity, pycrdt.Map) or t.deep:
            self.refuse(422, "entity-invalid", f"an entry of {name} is a map of field cells")
        if t.action == "add" and not _UUID.match(self.key):
            self.refuse(422, "entity-invalid", "an entity's key is its id, a lower-case UUID")
        assert isinstance(entity, pycrdt.Map)
        after = dict(entity.items())
        if name == "employees":
            self._never_an_owner(after)
        added = set(after) if t.action == "add" else t.added & set(after)
        for cell_key in sorted(added):
            self._cell(cell_key, after[cell_key])
        try:
            values = stamped.values(after)
            current = msgspec.convert({**values, "id": self.key}, self.root.struct)
        except (ValueError, msgspec.ValidationError) as exc:
            self.refuse(422, "entity-invalid", f"not a readable {self.root.struct.__name__}: {exc}")
        self._no_cards(current)

    def _never_an_owner(self, after: dict[str, Any]) -> None:
        """No entry of an owner account, and no cell saying owner in the entity as it is now or
        among what the push replaced: whichever cell wins, now or after a later merge, and
        whatever the push wrote in between, no owner was made, changed or demoted."""
        cells = [*after.items(), *self.touched.replaced]
        if self.key in self.owner_ids or any(_says_owner(k, v) for k, v in cells):
            detail = "a store's appliance never creates or changes an owner"
            self.refuse(403, "owner-refused", detail)

    def flat(self) -> None:
        t = self.touched
        if t.deep:
            self.refuse(422, "entity-invalid", "a setting is one value, not a map")
        if t.action == "delete":
            return  # a writer deletes the cells it saw of the field it writes
        raw = self.doc.get(self.root.name, type=pycrdt.Map).get(self.key)
        cell = self._cell(self.key, raw)
        if self.root.name == "seal":
            seal = cell.value if isinstance(cell.value, dict) else {}
            if seal.get("business_day") != self.doc_id.rsplit("/", 1)[1]:
                self.refuse(422, "entity-invalid", "a day's seal names its own day")

    def _cell(self, key: str, text: Any) -> stamped.Cell:
        """A new cell, checked: a stamped field of the struct, its value of the field's type."""
        try:
            cell = stamped.read_cell(key, text)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.refuse(422, "cell-invalid", f"{key!r} is not a stamped cell: {exc}")
        if cell.stamp == stamped.ZERO:
            self.refuse(422, "cell-invalid", f"{key!r} has no stamp: every new cell is stamped")
        if key != stamped.cell_key(cell.field, cell.stamp):
            self.refuse(422, "cell-invalid", f"{key!r} is not a stamp's one spelling")
        if not _UUID.match(cell.stamp.replica):
            detail = f"{key!r}: a store's appliance stamps with its store's id"
            self.refuse(422, "cell-invalid", detail)
        if cell.stamp.ms > self.now_ms + MAX_AHEAD_MS:
            self.refuse(422, "stamp-ahead", f"{key!r} is stamped ahead of the relay's clock")
        types = _field_types(self.root.struct)
        if cell.field not in types:
            detail = f"{self.root.struct.__name__} has no field {cell.field!r}"
            self.refuse(422, "cell-invalid", detail)
        if cell.field == "id" and cell.value != self.key:
            self.refuse(422, "cell-invalid", "an entity's id is the key it sits under")
        if cell.field in _RETIRED.get(self.root.name, ()) and cell.value is not None:
            detail = f"{cell.field} is no longer written here: PINs live in each store's pins"
            self.refuse(403, "retired-field", detail)
        try:
            msgspec.convert(cell.value, types[cell.field])
        except msgspec.ValidationError as exc:
            self.refuse(422, "cell-invalid", f"{cell.field}: {exc}")
        # All of the cell's text (who wrote it, any field a reader ignores), its value only
        # where it is free text: an item's barcode or SKU is digits by nature.
        whole = _plain(text)
        if isinstance(whole, dict) and cell.field in CODE_FIELDS:
            whole.pop("v", None)
        self._no_cards({cell.field: whole} if cell.field not in CODE_FIELDS else whole)
        return cell


def _plain(raw: Any) -> Any:
    """Whatever a stored value holds, as builtins: msgpack bytes or JSON text decoded without a
    type, so nothing in it is left out."""
    try:
        if isinstance(raw, bytes | bytearray):
            return msgspec.msgpack.decode(raw)
        return msgspec.json.decode(raw) if isinstance(raw, str) else raw
    except msgspec.DecodeError:
        return raw


def _says_owner(key: str, text: Any) -> bool:
    """Whether a cell is a role cell holding owner (a cell that cannot be read says nothing)."""
    try:
        cell = stamped.read_cell(key, text)
    except stamped.UNREADABLE:
        return False
    return cell.field == "role" and cell.value == "owner"


def _field_types(struct: type[msgspec.Struct]) -> dict[str, Any]:
    found = _TYPES.get(struct)
    if found is None:
        hints = msgspec.structs.fields(struct)
        found = _TYPES[struct] = {f.name: f.type for f in hints}
    return found


_TYPES: dict[type[msgspec.Struct], dict[str, Any]] = {}
