"""Rebuild every projection from the documents: the log is the truth, tables are derived."""

from __future__ import annotations

import apsw

from edge.store import quarantine
from edge.store.documents import document_ids, load_doc
from edge.store.migrations import PROJECTION_TABLES
from edge.store.projection import project_doc
from shared.ids import now_ms


def rebuild(conn: apsw.Connection, at_ms: int | None = None) -> int:
    """Drop and recompute all projected rows in one transaction; return the entries projected.

    The quarantine is listed again from the documents as they read now (``at_ms``: when).
    """
    at_ms = now_ms() if at_ms is None else at_ms
    count = 0
    with conn, quarantine.rebuilding(conn):
        for table in PROJECTION_TABLES:
            conn.execute(f"DELETE FROM {table}")
        for doc_id in document_ids(conn):
            count += project_doc(conn, doc_id, load_doc(conn, doc_id), at_ms)
    return count


def projection_dump(conn: apsw.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every projected row, sorted: two stores with equal dumps answer every read alike."""
    dump: dict[str, list[tuple[object, ...]]] = {}
    for table in PROJECTION_TABLES:
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        dump[table] = sorted(rows, key=repr)
    return dump
