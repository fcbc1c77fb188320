"""Folding each document's update log into a snapshot, off the sale path.

The expensive half (replaying the log into a detached ``Doc`` and encoding its whole state) runs
on the compactor's own thread and read connection. The writer then only swaps the snapshot in: it
checks that nobody compacted the document meanwhile, stores the snapshot and deletes the folded
updates, one short transaction. A crash between the two halves loses nothing: the log is untouched
until the swap commits.

On an appliance enrolled with a relay, only updates the relay has acknowledged are folded: what is
still to be pushed stays in the log as the small updates it was made as, so an appliance that was
offline for days pushes them in pages instead of one oversized snapshot.
"""

from __future__ import annotations

from pathlib import Path

import apsw
import pycrdt

from edge.store.background import Background
from edge.store.writer import Writer, WriteTx

COMPACT_AFTER_UPDATES = 500  # in a lull between sales
COMPACT_ANYWAY_AFTER = 5000  # even in a rush that never pauses
COMPACT_IDLE_S = 1.0


def _enrolled(conn: apsw.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = 'relay_url'").fetchone() is not None


def _foldable_sql(enrolled: bool) -> str:
    # Enrolled: only the prefix of the log the relay has acknowledged (see the module docstring).
    if not enrolled:
        return "1 = 1"
    return "seq <= coalesce((SELECT pushed_seq FROM sync_state s WHERE s.doc_id = u.doc_id), 0)"


def due_documents(conn: apsw.Connection, threshold: int) -> list[str]:
    """Documents with at least ``threshold`` updates that may be folded."""
    rows = conn.execute(
        f"SELECT doc_id FROM crdt_update u WHERE {_foldable_sql(_enrolled(conn))}"
        " GROUP BY doc_id HAVING count(*) >= ?",
        (threshold,),
    )
    return [r[0] for r in rows]


def build_snapshot(conn: apsw.Connection, doc_id: str) -> tuple[int | None, int, bytes] | None:
    """(snapshot seq it replaces, last folded seq, snapshot body), read in one read transaction."""
    with conn:  # one consistent view of the snapshot row and the log
        row = conn.execute(
            "SELECT upto_seq, body FROM crdt_snapshot WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        updates = conn.execute(
            f"SELECT seq, body FROM crdt_update u WHERE doc_id = ?"
            f" AND {_foldable_sql(_enrolled(conn))} ORDER BY seq",
            (doc_id,),
        ).fetchall()
    if not updates:
        return None
    doc = pycrdt.Doc()
    if row is not None:
        doc.apply_update(row[1])
    for _, body in updates:
        doc.apply_update(body)
    return (row[0] if row else None), updates[-1][0], doc.get_update()


def swap_snapshot(
    tx: WriteTx, doc_id: str, replaces: int | None, upto_seq: int, body: bytes
) -> bool:
    """Store the snapshot unless another compaction got there first; drop the folded updates."""
    row = tx.conn.execute(
        "SELECT upto_seq FROM crdt_snapshot WHERE doc_id = ?", (doc_id,)
    ).fetchone()
    if (row[0] if row else None) != replaces:
        return False
    tx.conn.execute(
        "INSERT OR REPLACE INTO crdt_snapshot (doc_id, upto_seq, body, at_ms) VALUES (?, ?, ?, ?)",
        (doc_id, upto_seq, body, tx.at_ms),
    )
    tx.conn.execute("DELETE FROM crdt_update WHERE doc_id = ? AND seq <= ?", (doc_id, upto_seq))
    return True


def compact_once(conn: apsw.Connection, writer: Writer, threshold: int) -> int:
    """Compact every due document; return how many snapshots were swapped in."""
    swapped = 0
    for doc_id in due_documents(conn, threshold):
        built = build_snapshot(conn, doc_id)
        if built is None:
            continue
        if writer.call(lambda tx, d=doc_id, b=built: swap_snapshot(tx, d, *b)):
            swapped += 1
    return swapped


def compactor(
    path: Path,
    writer: Writer,
    interval_s: float = 2.0,
    threshold: int = COMPACT_AFTER_UPDATES,
) -> Background:
    """A background thread that compacts due documents, preferring lulls between sales."""

    def tick(conn: apsw.Connection) -> None:
        # Building a snapshot holds the GIL for milliseconds: wait for a lull in sales.
        idle = writer.idle_s() >= COMPACT_IDLE_S
        compact_once(conn, writer, threshold if idle else COMPACT_ANYWAY_AFTER)

    return Background("compactor", path, interval_s, tick)
