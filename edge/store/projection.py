"""Projection: turn a document entry into rows of the tables the API reads.

A projection is a pure function of document content, so ``rebuild`` can drop every projected row
and recompute it from the documents and get the same tables back. An entry it cannot read (or
write: a line id another order holds) is left out, alone, and listed in edge.store.quarantine;
every other entry, and the sync that brought it, goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any

import apsw
import msgspec
import pycrdt

from edge.store import quarantine, rowdata
from edge.store.collections import Collection, collection, doc_collections
from shared.schemas import compact, layout, stamped
from shared.schemas import documents as d

log = logging.getLogger("fynlo.store")
_encoder = msgspec.json.Encoder()


def encode(value: Any) -> str:
    """The canonical JSON text of a value, as stored in documents and projection ``data``."""
    return _encoder.encode(value).decode()


def read_entry(
    doc: pycrdt.Doc, coll: Collection, key: str, unreadable: list[str] | None = None
) -> Any:
    """The typed value of one entry of a document, or None when it is absent.

    Per-field entities and flat values are stamped cells (shared.schemas.stamped): each field
    reads as its winning cell. With ``unreadable``, a cell that cannot be read at all is left out
    and its key added there (else it makes the entry unreadable).
    """
    root = doc.get(coll.name, type=pycrdt.Map)
    if coll.mode == "flat":
        found = _cells(root, key, unreadable)
        return found[0].value if found else None
    raw = root.get(key)
    if raw is None:
        return None
    assert coll.struct is not None
    if coll.mode == "encoded":
        if not isinstance(raw, bytes | bytearray | str):
            raise msgspec.ValidationError(f"{coll.name} {key} is not an encoded entity")
        return compact.decode(raw, coll.struct, key)
    if not isinstance(raw, pycrdt.Map):
        raise msgspec.ValidationError(f"{coll.name} {key} is not a map of fields")
    try:
        fields = stamped.values(raw, unreadable)
    except ValueError as exc:
        raise msgspec.ValidationError(str(exc)) from exc
    return msgspec.convert({**fields, "id": key}, coll.struct)


def _cells(root: pycrdt.Map, field: str, unreadable: list[str] | None = None) -> list[stamped.Cell]:
    try:
        return stamped.cells(root, only=field, unreadable=unreadable).get(field, [])
    except ValueError as exc:
        raise msgspec.ValidationError(str(exc)) from exc


def entry_keys(doc: pycrdt.Doc, coll: Collection) -> list[str]:
    """Every key of a collection in a document (of a flat one, every field of its cells)."""
    keys = doc.get(coll.name, type=pycrdt.Map).keys()
    if coll.mode == "flat":
        return sorted({key.partition(stamped.SEP)[0] for key in keys})
    return list(keys)


def entry_conflicts(doc: pycrdt.Doc, coll: Collection, key: str) -> list[stamped.Conflict]:
    """The concurrent edits of an entry's fields that lost, still to be looked at."""
    root = doc.get(coll.name, type=pycrdt.Map)
    if coll.mode == "flat":
        return stamped.conflicts({c.key: root[c.key] for c in _cells(root, key, [])})
    raw = root.get(key)
    if coll.mode != "fields" or not isinstance(raw, pycrdt.Map):
        return []
    return stamped.conflicts(raw, [])  # unreadable cells are no conflict: the entry lists them


def project(
    conn: apsw.Connection,
    doc_id: str,
    coll: Collection,
    key: str,
    value: Any,
    text: str | None = None,
) -> None:
    """Write (or delete, for None) the projected rows of one entry (``text``: its encoding)."""
    if coll.table is None:
        _project_flat(conn, doc_id, coll, key, value)
        return
    if value is None:
        conn.execute(f"DELETE FROM {coll.table} WHERE id = ? AND doc_id = ?", (key, doc_id))
        if coll.struct is d.Order:
            conn.execute("DELETE FROM order_lines WHERE order_id = ?", (key,))
        elif coll.struct is d.Item:
            conn.execute("DELETE FROM items_fts WHERE id = ?", (key,))
        return
    data = rowdata.pack(encode(value) if text is None else text)
    values = (key, doc_id, *_columns(coll.name)(value), data)
    if isinstance(value, d.Order):
        totals = value.totals
        values += (totals.total_minor, totals.paid_minor, totals.balance_minor)
    conn.execute(_upsert_sql(coll.name), values)
    if isinstance(value, d.Order):
        _project_order_lines(conn, value)
    elif isinstance(value, d.Item):
        conn.execute("DELETE FROM items_fts WHERE id = ?", (key,))
        conn.execute(
            "INSERT INTO items_fts (id, name, sku) VALUES (?, ?, ?)",
            (key, value.name, value.sku or ""),
        )


@cache
def _upsert_sql(coll_name: str) -> str:
    """The upsert of a collection's table, built once per collection."""
    coll = collection(coll_name)
    columns = ("id", "doc_id", *coll.columns, "data")
    if coll.struct is d.Order:
        columns += ("total_minor", "paid_minor", "balance_minor")
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    # An upsert on id, not INSERT OR REPLACE: a clash on another unique index must fail loudly.
    return (
        f"INSERT INTO {coll.table} ({', '.join(columns)}) VALUES ({marks})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )


def project_doc(conn: apsw.Connection, doc_id: str, doc: pycrdt.Doc, at_ms: int) -> int:
    """Project every entry of a document; return how many entries were projected."""
    count = 0
    for coll in known_collections(doc_id):
        for key in entry_keys(doc, coll):
            count += project_entry(conn, doc_id, doc, coll, key, at_ms)
    check_roots(conn, doc_id, doc, at_ms)
    return count


def known_collections(doc_id: str) -> tuple[Collection, ...]:
    """The collections of a document; none for a kind this version does not know."""
    try:
        return doc_collections(doc_id)
    except ValueError:
        return ()


def project_entry(
    conn: apsw.Connection, doc_id: str, doc: pycrdt.Doc, coll: Collection, key: str, at_ms: int
) -> bool:
    """Project one entry as the document holds it; False when it cannot be projected.

    Another replica may write what this version cannot read: it stays in the document (so every
    replica converges) but out of the tables, here and in every rebuild alike, and is listed in
    the quarantine until an update makes it readable.
    """
    unreadable: list[str] = []
    try:
        value = read_entry(doc, coll, key, unreadable)
        if coll.mode == "flat":
            _check_flat(doc_id, coll.name, key, value)
        found = None if coll.mode == "encoded" else entry_conflicts(doc, coll, key)
        project(conn, doc_id, coll, key, value)
        if found is not None:
            _project_conflicts(conn, doc_id, coll, key, found)
    except Exception as exc:
        if isinstance(exc, apsw.Error) and not isinstance(exc, apsw.ConstraintError):
            raise  # the database failing (disk full, I/O), not the entry
        _leave_out(conn, doc_id, coll, key)
        error = _describe(exc)
        if unreadable:
            error += f" (unreadable cells: {', '.join(sorted(unreadable))})"
        log.warning("unreadable %s entry %s in %s left out: %s", coll.name, key, doc_id, error)
        quarantine.record(conn, doc_id, coll.name, key, error, at_ms)
        return False
    if not unreadable:
        quarantine.clear(conn, doc_id, coll.name, key)
        return True
    error = f"unreadable cells left out: {', '.join(sorted(unreadable))}"
    log.warning("%s entry %s in %s: %s", coll.name, key, doc_id, error)
    projected = value is not None  # else no cell of it could be read: it reads as absent
    quarantine.record(conn, doc_id, coll.name, key, error, at_ms, projected=projected)
    return projected


def check_roots(conn: apsw.Connection, doc_id: str, doc: pycrdt.Doc, at_ms: int) -> None:
    """List the roots of a document that this version does not know (every root, for a kind of
    document it does not know) while they hold entries; unlist them once emptied."""
    colls = known_collections(doc_id)
    known = {c.name for c in colls}
    strays = sorted(name for name in doc if name not in known and _holds_entries(doc, name))
    error = "a root this version cannot read" if colls else "a document this version cannot read"
    for name in strays:
        quarantine.record(conn, doc_id, name, "", f"{error}: kept, not read", at_ms)
    quarantine.clear_roots(conn, doc_id, strays)


def _holds_entries(doc: pycrdt.Doc, name: str) -> bool:
    return len(doc.get(name, type=pycrdt.Map)) > 0


def _leave_out(conn: apsw.Connection, doc_id: str, coll: Collection, key: str) -> None:
    """What an entry projected before goes: it reads as absent, as a rebuild would find it."""
    project(conn, doc_id, coll, key, None)
    _project_conflicts(conn, doc_id, coll, key, [])


def _describe(exc: Exception) -> str:
    if isinstance(exc, msgspec.DecodeError | msgspec.ValidationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _check_flat(doc_id: str, root: str, key: str, value: Any) -> None:
    """A flat value must have the type its root's struct gives its key (keys it does not
    name, such as dotted printer settings, are free)."""
    kind = layout.doc_kind(doc_id)
    if value is None or kind is None:
        return
    field_type = _flat_types(kind, root).get(key)
    if field_type is not None:
        msgspec.convert(value, field_type)


@cache
def _flat_types(kind: layout.Kind, root: str) -> dict[str, Any]:
    struct = next((r.struct for r in layout.ROOTS[kind] if r.name == root), None)
    if struct is None:
        return {}
    return {f.name: f.type for f in msgspec.structs.fields(struct)}


@cache
def _columns(coll_name: str) -> Callable[[Any], tuple[Any, ...]]:
    """The struct attributes a collection copies into its table's columns, read in one call
    (apsw binds a bool as the integer SQLite stores)."""
    columns = collection(coll_name).columns
    if len(columns) == 1:
        one = attrgetter(columns[0])
        return lambda value: (one(value),)
    return attrgetter(*columns)


def _project_conflicts(
    conn: apsw.Connection,
    doc_id: str,
    coll: Collection,
    key: str,
    found: list[stamped.Conflict],
) -> None:
    conn.execute(
        "DELETE FROM conflicts WHERE doc_id = ? AND collection = ? AND entity_id = ?",
        (doc_id, coll.name, key),
    )
    conn.executemany(
        "INSERT INTO conflicts (doc_id, collection, entity_id, lost_key, field, data)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(doc_id, coll.name, key, c.lost_key, c.field, encode(c)) for c in found],
    )


def _project_flat(
    conn: apsw.Connection, doc_id: str, coll: Collection, key: str, value: Any
) -> None:
    if value is None:
        conn.execute(
            "DELETE FROM doc_values WHERE doc_id = ? AND collection = ? AND key = ?",
            (doc_id, coll.name, key),
        )
        return
    conn.execute(
        "INSERT OR REPLACE INTO doc_values (doc_id, collection, key, value) VALUES (?, ?, ?, ?)",
        (doc_id, coll.name, key, encode(value)),
    )


def _project_order_lines(conn: apsw.Connection, order: d.Order) -> None:
    conn.execute("DELETE FROM order_lines WHERE order_id = ?", (order.id,))
    conn.executemany(
        "INSERT INTO order_lines (id, order_id, item_id, name, quantity, unit_price_minor, sent,"
        " voided) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                ln.id,
                order.id,
                ln.item_id,
                ln.name,
                ln.quantity,
                ln.unit_price_minor,
                int(ln.sent),
                int(ln.voided),
            )
            for ln in order.lines
        ],
    )
