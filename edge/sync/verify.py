"""Proving convergence: does the relay hold everything this appliance holds?

Cursors say what was sent; only the relay's state vector says what arrived. The relay answers
its vector with every push acknowledgement and on request (``POST /sync/state``); the appliance
compares it with the vector of its own live document. When the relay lacks something although
nothing waits to be pushed here (a lost update, a relay restored from a backup, a bug), the part
it lacks is computed from the document itself and pushed again: a repair, counted and logged, so
the next such bug is seen rather than silently kept.

A document is *in sync* when nothing waits to be pushed, no check found the relay lacking since,
and the relay's vector was last seen covering ours after our last local change.
"""

from __future__ import annotations

import apsw
import msgspec

from edge.store.documents import DocumentStore
from edge.store.writer import WriteTx
from shared.schemas.sync import lacking

REVERIFY_MS = 60 * 60 * 1000  # every document written here is checked again at least hourly


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """What comparing the two vectors found."""

    doc_id: str
    comparable: bool  # False: updates still wait to be pushed, a gap is expected
    missing: bytes | None = None  # the update the relay lacks, when it lacks one


def has_pending(conn: apsw.Connection, doc_id: str) -> bool:
    """Local updates (or segments holding some) the relay has not acknowledged."""
    row = conn.execute(
        "SELECT coalesce((SELECT pushed_seq FROM sync_state WHERE doc_id = ?1), 0)", (doc_id,)
    ).fetchone()
    pushed = row[0]
    return (
        conn.execute(
            "SELECT 1 FROM crdt_update WHERE doc_id = ? AND seq > ? AND origin = 'local' LIMIT 1",
            (doc_id, pushed),
        ).fetchone()
        is not None
        or conn.execute(
            "SELECT 1 FROM crdt_segment WHERE doc_id = ? AND upto_seq > ? LIMIT 1", (doc_id, pushed)
        ).fetchone()
        is not None
    )


def check(tx: WriteTx, docs: DocumentStore, doc_id: str, relay_vector: bytes) -> Check:
    """A writer command: the relay's vector against our live document's, with the log at rest;
    what the relay lacks comes back as one update."""
    if has_pending(tx.conn, doc_id):
        return Check(doc_id=doc_id, comparable=False)
    lacked = missing(tx, docs, doc_id, relay_vector)
    if lacked is None:
        record_verified(tx.conn, doc_id, tx.at_ms)
    return Check(doc_id=doc_id, comparable=True, missing=lacked)


def missing(tx: WriteTx, docs: DocumentStore, doc_id: str, relay_vector: bytes) -> bytes | None:
    """A writer command: what the relay lacks of our live document (None: nothing)."""
    doc = docs.get(tx.conn, doc_id)
    if not lacking(relay_vector, doc.get_state()):
        return None
    return doc.get_update(relay_vector)


def record_verified(conn: apsw.Connection, doc_id: str, at_ms: int) -> None:
    conn.execute(
        "INSERT INTO sync_state (doc_id, verified_ms) VALUES (?1, ?2) ON CONFLICT (doc_id)"
        " DO UPDATE SET verified_ms = ?2, relay_missing = 0",
        (doc_id, at_ms),
    )


def record_missing(conn: apsw.Connection, doc_id: str) -> None:
    conn.execute(
        "INSERT INTO sync_state (doc_id, relay_missing) VALUES (?1, 1) ON CONFLICT (doc_id)"
        " DO UPDATE SET relay_missing = 1",
        (doc_id,),
    )


def record_repair(conn: apsw.Connection, doc_id: str, at_ms: int) -> None:
    conn.execute(
        "INSERT INTO sync_state (doc_id, repairs, last_repair_ms) VALUES (?1, 1, ?2)"
        " ON CONFLICT (doc_id) DO UPDATE SET repairs = repairs + 1, last_repair_ms = ?2",
        (doc_id, at_ms),
    )


def last_local_ms(conn: apsw.Connection, doc_id: str) -> int:
    """When this appliance last wrote the document (0: never, or only long compacted away)."""
    row = conn.execute(
        "SELECT at_ms FROM crdt_update WHERE doc_id = ? AND origin = 'local'"
        " ORDER BY seq DESC LIMIT 1",
        (doc_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def due(conn: apsw.Connection, doc_ids: list[str], now_ms: int) -> list[str]:
    """Documents to check now: written here since their last check, or not checked for an hour
    though this appliance pushed to them."""
    marks = {
        r[0]: (r[1], r[2])
        for r in conn.execute("SELECT doc_id, verified_ms, pushed_seq FROM sync_state")
    }
    found = []
    for doc_id in doc_ids:
        verified_ms, pushed_seq = marks.get(doc_id, (None, 0))
        written = last_local_ms(conn, doc_id)
        changed = written and (verified_ms is None or verified_ms < written)
        stale = pushed_seq and (verified_ms is None or now_ms - verified_ms >= REVERIFY_MS)
        if changed or stale:
            found.append(doc_id)
    return found


def in_sync(pending: int, relay_missing: bool, verified_ms: int | None, written_ms: int) -> bool:
    """The honest "nothing pending" of a document (see the module docstring)."""
    if pending or relay_missing:
        return False
    return written_ms == 0 or (verified_ms is not None and verified_ms >= written_ms)
