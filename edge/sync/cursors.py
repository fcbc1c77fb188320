"""Per-document sync cursors and what is waiting to be pushed.

``pushed_seq`` is the last local ``crdt_update.seq`` the relay acknowledged; ``pull_cursor`` the
last relay seq applied here. Both move only after the work they describe has committed, so a sync
cut at any point resumes where it stopped and never loses or skips an update (re-sending is
harmless: the relay and the local log both deduplicate by content hash).
"""

from __future__ import annotations

from collections.abc import Collection

import apsw
import msgspec

from edge.store.documents import segment_update
from shared.schemas.sync import PushAck, Update, update_hash

SEGMENTS_PER_PUSH = 4  # a segment is at most 1 MiB: a page stays far below the relay's limit
PUSH_PAGE_BYTES = 4 << 20  # updates in one push, however many fit (the relay takes 16 MiB)


class DocCursor(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    pushed_seq: int = 0
    pull_cursor: int = 0
    relay_head: int = 0
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    verified_ms: int | None = None  # the relay's state vector last covered ours
    relay_missing: bool = False  # a check found the relay lacking, not yet repaired
    repairs: int = 0
    last_repair_ms: int | None = None


def cursors(conn: apsw.Connection) -> dict[str, DocCursor]:
    """Every document's cursors (documents never synced are absent: all zero)."""
    columns = DocCursor.__struct_fields__
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM sync_state")
    return {r[0]: DocCursor(**dict(zip(columns, r, strict=True))) for r in rows}


def pending(
    conn: apsw.Connection, doc_id: str, pushed_seq: int, limit: int
) -> tuple[list[Update], int]:
    """Local updates after ``pushed_seq`` (at most ``limit``) and the seq to record once sent.

    When compaction has folded unpushed updates into segments, those segments go first, a few
    per page (each is at most a megabyte): they hold them (and what came from elsewhere, which
    the relay already has and ignores).
    """
    with conn:  # one read transaction: the segments and the log agree
        segments = conn.execute(
            "SELECT upto_seq, body, raw_size FROM crdt_segment WHERE doc_id = ? AND upto_seq > ?"
            " ORDER BY upto_seq LIMIT ?",
            (doc_id, pushed_seq, SEGMENTS_PER_PUSH),
        ).fetchall()
        if segments:
            bodies = [segment_update(body, raw_size) for _, body, raw_size in segments]
            return [Update(hash=update_hash(b), body=b) for b in bodies], segments[-1][0]
        rows = conn.execute(
            "SELECT seq, hash, body FROM crdt_update WHERE doc_id = ? AND seq > ?"
            " AND origin = 'local' ORDER BY seq LIMIT ?",
            (doc_id, pushed_seq, limit),
        ).fetchall()
    page: list[Update] = []
    size, upto = 0, pushed_seq
    for seq, h, b in rows:
        if page and size + len(b) > PUSH_PAGE_BYTES:
            break  # large updates: the rest go in the next page
        page.append(Update(hash=h, body=b))
        size, upto = size + len(b), seq
    return page, upto


def pending_counts(conn: apsw.Connection) -> dict[str, int]:
    """Local updates (and segments holding some) not yet acknowledged by the relay, per document."""
    rows = conn.execute(
        "SELECT doc_id, count(*) FROM (SELECT u.doc_id FROM crdt_update u LEFT JOIN sync_state s"
        " ON s.doc_id = u.doc_id WHERE u.origin = 'local' AND u.seq > coalesce(s.pushed_seq, 0)"
        " UNION ALL SELECT g.doc_id FROM crdt_segment g LEFT JOIN sync_state s"
        " ON s.doc_id = g.doc_id WHERE g.upto_seq > coalesce(s.pushed_seq, 0)) GROUP BY doc_id"
    )
    return {doc_id: count for doc_id, count in rows}


def oldest_pending_ms(conn: apsw.Connection) -> dict[str, int]:
    """When the oldest local update the relay has not acknowledged was made, per document."""
    rows = conn.execute(
        "SELECT u.doc_id, min(u.at_ms) FROM crdt_update u LEFT JOIN sync_state s"
        " ON s.doc_id = u.doc_id WHERE u.origin = 'local' AND u.seq > coalesce(s.pushed_seq, 0)"
        " GROUP BY u.doc_id"
    )
    return {doc_id: at_ms for doc_id, at_ms in rows}


def record_push(
    conn: apsw.Connection, doc_id: str, pushed_seq: int, ack: PushAck, at_ms: int
) -> None:
    """The relay holds our updates up to ``pushed_seq``.

    When this appliance had pulled everything up to the head the push found, the rows it added
    are all its own updates: the pull cursor moves past them, so they never come back down.
    """
    before = ack.head - ack.accepted
    conn.execute(
        "INSERT INTO sync_state (doc_id, pushed_seq, pull_cursor, relay_head, last_success_ms)"
        " VALUES (?1, ?2, CASE WHEN ?5 = 0 THEN ?3 ELSE 0 END, ?3, ?4)"
        " ON CONFLICT (doc_id) DO UPDATE SET pushed_seq = max(pushed_seq, ?2),"
        " pull_cursor = CASE WHEN pull_cursor = ?5 THEN ?3 ELSE pull_cursor END,"
        " relay_head = max(relay_head, ?3), last_success_ms = ?4, last_error = NULL",
        (doc_id, pushed_seq, ack.head, at_ms, before),
    )


def record_pull(conn: apsw.Connection, doc_id: str, cursor: int, head: int, at_ms: int) -> None:
    conn.execute(
        "INSERT INTO sync_state (doc_id, pull_cursor, relay_head, last_success_ms) VALUES"
        " (?1, ?2, ?3, ?4) ON CONFLICT (doc_id) DO UPDATE SET pull_cursor = max(pull_cursor, ?2),"
        " relay_head = max(relay_head, ?3), last_success_ms = ?4, last_error = NULL",
        (doc_id, cursor, head, at_ms),
    )


def has_errors(conn: apsw.Connection, but: Collection[str] = ()) -> bool:
    """Whether a document (but those of ``but``) has an error recorded."""
    return bool(_with_errors(conn, but))


def clear_errors(conn: apsw.Connection, but: Collection[str] = ()) -> None:
    """A whole round went through: no document's error holds any more (but those of ``but``,
    refused again in it)."""
    conn.executemany(
        "UPDATE sync_state SET last_error = NULL, last_error_ms = NULL WHERE doc_id = ?",
        [(doc_id,) for doc_id in _with_errors(conn, but)],
    )


def _with_errors(conn: apsw.Connection, but: Collection[str]) -> list[str]:
    rows = conn.execute("SELECT doc_id FROM sync_state WHERE last_error IS NOT NULL").fetchall()
    return [doc_id for (doc_id,) in rows if doc_id not in but]


def record_error(conn: apsw.Connection, doc_ids: list[str], error: str, at_ms: int) -> None:
    conn.executemany(
        "INSERT INTO sync_state (doc_id, last_error, last_error_ms) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (doc_id) DO UPDATE SET last_error = ?2, last_error_ms = ?3",
        [(doc_id, error[:500], at_ms) for doc_id in doc_ids],
    )


def start_over(conn: apsw.Connection, doc_ids: list[str], heads: dict[str, int]) -> None:
    """Sync these documents again from the start: the relay holds less than it acknowledged.

    A relay restored from a backup has forgotten updates it once took, and numbers new ones with
    seqs this appliance thinks it has seen. Pushing everything again (the relay drops what it
    still has, by hash) and pulling from 0 (the log drops what we have) heals it.
    """
    conn.executemany(
        "UPDATE sync_state SET pushed_seq = 0, pull_cursor = 0, relay_head = ? WHERE doc_id = ?",
        [(heads.get(doc_id, 0), doc_id) for doc_id in doc_ids],
    )
