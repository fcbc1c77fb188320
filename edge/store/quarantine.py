"""Quarantine: entries this appliance cannot project, kept out of its tables and reported.

Another replica (a bug, an older version, data that got past the relay) may write what this
version cannot read: a string where an item's map of fields belongs, a map where a setting's value
belongs, a document of a kind it does not know. The document keeps it, so every replica still
converges on the same content, but the projection leaves that one entry out (for a per-field
entity or a flat value with a few unreadable cells: projects the readable rest), lists it here
and goes on; everything else keeps syncing. A later update that makes the entry readable again
(the owner's removal of it, an edit that rewrites the field) clears it.

A row names an entry by (doc_id, collection, key); key '' names a whole root this version does not
know (every root of a document of a kind it does not know). ``first_seen_ms`` is when this
appliance first met it and survives a rebuild (it is not document content, so this is no
projection table); ``last_seen_ms`` is when an update last left it unreadable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import apsw
import msgspec

MAX_ERROR_CHARS = 500


class Quarantined(msgspec.Struct, frozen=True, kw_only=True):
    """One entry left out of the tables (or, ``projected``, with unreadable cells left out)."""

    doc_id: str
    collection: str  # the root
    key: str  # '': the whole root (one this version does not know)
    error: str
    projected: bool  # True: the readable rest of the entry is in the tables
    first_seen_ms: int
    last_seen_ms: int


def record(
    conn: apsw.Connection,
    doc_id: str,
    collection: str,
    key: str,
    error: str,
    at_ms: int,
    *,
    projected: bool = False,
) -> None:
    """List an entry (again): its first sighting is kept."""
    conn.execute(
        "INSERT INTO quarantine (doc_id, collection, key, error, projected, first_seen_ms,"
        " last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
        " ON CONFLICT (doc_id, collection, key) DO UPDATE SET error = ?4, projected = ?5,"
        " last_seen_ms = ?6",
        (doc_id, collection, key, error[:MAX_ERROR_CHARS], int(projected), at_ms),
    )


def clear(conn: apsw.Connection, doc_id: str, collection: str, key: str) -> None:
    """The entry reads again (or is gone): no longer listed."""
    conn.execute(
        "DELETE FROM quarantine WHERE doc_id = ? AND collection = ? AND key = ?",
        (doc_id, collection, key),
    )


def clear_roots(conn: apsw.Connection, doc_id: str, keep: list[str]) -> None:
    """Unlist the whole-root rows of a document but those of ``keep``."""
    listed = conn.execute(
        "SELECT collection FROM quarantine WHERE doc_id = ? AND key = ''", (doc_id,)
    ).fetchall()
    for (name,) in listed:
        if name not in keep:
            clear(conn, doc_id, name, "")


def entries(conn: apsw.Connection) -> list[Quarantined]:
    """Every listed entry, the most recently seen first."""
    columns = Quarantined.__struct_fields__
    rows = conn.execute(
        f"SELECT {', '.join(columns)} FROM quarantine ORDER BY last_seen_ms DESC, doc_id,"
        " collection, key"
    )
    return [Quarantined(**dict(zip(columns, row, strict=True))) for row in rows]


def counts(conn: apsw.Connection) -> dict[str, int]:
    """Listed entries per document."""
    rows = conn.execute("SELECT doc_id, count(*) FROM quarantine GROUP BY doc_id")
    return {doc_id: n for doc_id, n in rows}


@contextmanager
def rebuilding(conn: apsw.Connection) -> Iterator[None]:
    """Around a rebuild (inside its transaction): the list is made again from the documents,
    but an entry listed before keeps when it was first seen."""
    first = conn.execute("SELECT first_seen_ms, doc_id, collection, key FROM quarantine").fetchall()
    conn.execute("DELETE FROM quarantine")
    yield
    conn.executemany(
        "UPDATE quarantine SET first_seen_ms = min(first_seen_ms, ?)"
        " WHERE doc_id = ? AND collection = ? AND key = ?",
        first,
    )
