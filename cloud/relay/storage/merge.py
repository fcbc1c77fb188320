"""The rules both storage backends share, as pure functions: dedup, pull pages, segments.

A backend reads rows and writes rows; what to append, what a pull answers and how a log folds into
a snapshot is decided here, once, so SQLite and PostgreSQL cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import pycrdt

from shared.schemas.sync import PulledDoc, Update

NEVER = 2**62  # a ``before_ms`` later than any row: fold the whole log


SEGMENT_UPDATES = 500  # log rows folded into one segment at most
SEGMENT_BYTES = 1 << 20  # and at most this many bytes of them: a segment is pulled whole


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """A run of a document's log, ``(base_seq, upto_seq]``, merged into one update.

    ``base_seq`` is the last seq of the segment before it (0: none); the swap checks that no
    segment was added since. Segments are never rewritten: a compaction costs what it folds.
    """

    base_seq: int
    upto_seq: int
    rows: int
    body: bytes


def fresh_updates(updates: Iterable[Update], held: set[bytes]) -> list[Update]:
    """The updates to append, in their order: not held yet, nor repeated earlier in the batch."""
    seen = set(held)
    fresh = []
    for update in updates:
        if update.hash not in seen:
            seen.add(update.hash)
            fresh.append(update)
    return fresh


def pulled_doc(
    doc_id: str,
    cursor: int,
    limit: int,
    segments: Sequence[tuple[int, bytes, bytes]],
    rows: Sequence[tuple[int, bytes, bytes]],
) -> PulledDoc:
    """The answer to a pull: the segments after ``cursor``, then the log rows after them.

    ``segments`` are (upto seq, hash, body) with ``upto > cursor`` and ``rows`` (seq, hash, body)
    after the last of them, both in order and up to ``limit + 1`` in all: the extra one only
    tells that more remain. A client whose cursor falls inside a segment gets it whole (the route
    then sends only what the client lacks of it, by its state vector).
    """
    entries = [*segments, *rows]
    page = entries[:limit]
    return PulledDoc(
        doc_id=doc_id,
        updates=[Update(hash=bytes(h), body=bytes(b)) for _, h, b in page],
        cursor=page[-1][0] if page else cursor,
        more=len(entries) > limit,
        segments=min(len(segments), limit),
    )


def fold(base_seq: int, rows: Sequence[tuple[int, bytes]]) -> Segment | None:
    """The segment of the oldest ``rows`` (seq, body) after ``base_seq``, within the bounds.

    ``merge_updates``, not a fresh ``Doc``: a run may overwrite or delete what an earlier segment
    holds, which a Doc without that segment would keep pending or drop. Bounded runs keep it
    cheap (it grows faster than linearly on long inputs).
    """
    taken: list[tuple[int, bytes]] = []
    size = 0
    for seq, body in rows[:SEGMENT_UPDATES]:
        if taken and size + len(body) > SEGMENT_BYTES:
            break
        taken.append((seq, bytes(body)))
        size += len(body)
    if not taken:
        return None
    bodies = [body for _, body in taken]
    merged = bodies[0] if len(bodies) == 1 else pycrdt.merge_updates(*bodies)
    return Segment(base_seq=base_seq, upto_seq=taken[-1][0], rows=len(taken), body=merged)


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """The half-open id range [low, high) of ids starting with ``prefix`` (an index range scan).

    Cheaper and safer than ``LIKE``: ids may hold ``_``, a ``LIKE`` wildcard. Compared bytewise
    (SQLite's BINARY, PostgreSQL's "C" collation); ``high`` is None for the empty prefix.
    """
    if not prefix:
        return "", None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def missing_from(segment: bytes, state_vector: bytes) -> bytes:
    """The part of ``segment`` a replica at ``state_vector`` lacks (with its whole delete set).

    pycrdt diffs the raw update without a live ``Doc``. A malformed state vector raises
    ValueError.
    """
    try:
        return pycrdt.get_update(segment, state_vector)
    except Exception as exc:  # pycrdt raises its Rust errors as plain exceptions
        raise ValueError(f"not a state vector: {exc}") from exc
