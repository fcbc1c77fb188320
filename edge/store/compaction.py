"""Folding each document's update log into segments, off the sale path.

A pass takes the oldest foldable run of the log (at most ``SEGMENT_UPDATES`` updates and
``SEGMENT_BYTES`` bytes), merges it into one update on the compactor's own thread and read
connection, and the writer swaps it in: it checks that nobody added a segment meanwhile, stores
the segment and deletes exactly the rows it folds, one short transaction. Segments are never
rewritten, so a pass costs what it folds, not the whole document (rewriting a day's snapshot on
every pass made a busy till slower as the day grew), and no segment outgrows what one push
carries. A crash between the two halves loses nothing: the log is untouched until the swap
commits. Log seqs are never reused (AUTOINCREMENT), so the rows up to a segment's last seq are
exactly the rows it was built from.

On an appliance enrolled with a relay, only updates the relay has acknowledged are folded: what is
still to be pushed stays in the log as the small updates it was made as.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import apsw
import pycrdt

from edge.store.background import Background
from edge.store.documents import deflate_segment
from edge.store.writer import Writer, WriteTx

COMPACT_AFTER_UPDATES = 200  # in a lull between sales
COMPACT_ANYWAY_AFTER = 1000  # even in a rush that never pauses: the log stays short
COMPACT_IDLE_S = 1.0
SEGMENT_UPDATES = 500  # merging costs ~20-40 µs an update: one segment holds the GIL briefly
SEGMENT_BYTES = 1 << 20  # far below the relay's 8 MiB update limit
SEGMENTS_PER_PASS = 8  # a pass never holds the writer for more than a few short swaps


@dataclass(frozen=True)
class Segment:
    """A run of one document's log merged into one update, not yet swapped in."""

    doc_id: str
    base_seq: int  # the last seq of the segment before it (0: the first)
    upto_seq: int  # the last seq it folds
    rows: int
    body: bytes
    stored: bytes  # the body deflated, as kept on disk
    full: bool  # it stopped at a bound (count or bytes), not at the end of what may be folded


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


def last_segment_seq(conn: apsw.Connection, doc_id: str) -> int:
    row = conn.execute(
        "SELECT max(upto_seq) FROM crdt_segment WHERE doc_id = ?", (doc_id,)
    ).fetchone()
    return int(row[0] or 0)


def build_segment(conn: apsw.Connection, doc_id: str) -> Segment | None:
    """The next segment of ``doc_id`` from the oldest foldable rows, read in one transaction."""
    with conn:  # one consistent view of the segments and the log
        base = last_segment_seq(conn, doc_id)
        rows = conn.execute(
            f"SELECT seq, body FROM crdt_update u WHERE doc_id = ?"
            f" AND {_foldable_sql(_enrolled(conn))} ORDER BY seq LIMIT ?",
            (doc_id, SEGMENT_UPDATES),
        ).fetchall()
    taken: list[bytes] = []
    size = 0
    for _, body in rows:
        if taken and size + len(body) > SEGMENT_BYTES:
            break
        taken.append(body)
        size += len(body)
    if not taken:
        return None
    # merge_updates, not a fresh Doc: a run may overwrite or delete what an earlier segment holds,
    # which a Doc without it would keep pending or drop.
    body = taken[0] if len(taken) == 1 else pycrdt.merge_updates(*taken)
    full = len(taken) < len(rows) or len(rows) == SEGMENT_UPDATES
    upto = rows[len(taken) - 1][0]
    return Segment(doc_id, base, upto, len(taken), body, deflate_segment(body), full)


def swap_segment(tx: WriteTx, segment: Segment) -> bool:
    """Store the segment unless another compaction got there first; drop the rows it folds."""
    if last_segment_seq(tx.conn, segment.doc_id) != segment.base_seq:
        return False
    tx.conn.execute(
        "INSERT INTO crdt_segment (doc_id, upto_seq, body, raw_size, at_ms) VALUES (?, ?, ?, ?, ?)",
        (segment.doc_id, segment.upto_seq, segment.stored, len(segment.body), tx.at_ms),
    )
    tx.conn.execute(
        "DELETE FROM crdt_update WHERE doc_id = ? AND seq > ? AND seq <= ?",
        (segment.doc_id, segment.base_seq, segment.upto_seq),
    )
    if tx.conn.changes() != segment.rows:
        # Never expected (seqs are never reused): refuse rather than drop a row it did not fold.
        raise RuntimeError(f"the log of {segment.doc_id} changed under its compaction")
    return True


def compact_once(conn: apsw.Connection, writer: Writer, threshold: int) -> int:
    """Fold due documents, a few segments per pass; return how many segments were swapped in."""
    swapped = 0
    for doc_id in due_documents(conn, threshold):
        for n in range(SEGMENTS_PER_PASS):
            segment = build_segment(conn, doc_id)
            # After the first, a short remainder waits to grow: segments stay few and full.
            if segment is None or (n and not segment.full):
                break
            if not writer.call(lambda tx, s=segment: swap_segment(tx, s)):
                break
            swapped += 1
    return swapped


def compactor(
    path: Path,
    writer: Writer,
    interval_s: float = 0.5,
    threshold: int = COMPACT_AFTER_UPDATES,
) -> Background:
    """A background thread that compacts due documents, preferring lulls between sales."""

    def tick(conn: apsw.Connection) -> None:
        # Merging holds the GIL for milliseconds: in a rush, only once the log has grown long.
        idle = writer.idle_s() >= COMPACT_IDLE_S
        compact_once(conn, writer, threshold if idle else COMPACT_ANYWAY_AFTER)

    return Background("compactor", path, interval_s, tick)
