"""The rules both storage backends share, as pure functions: dedup, pull pages, snapshots.

A backend reads rows and writes rows; what to append, what a pull answers and how a log folds into
a snapshot is decided here, once, so SQLite and PostgreSQL cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import pycrdt

from shared.schemas.sync import PulledDoc, Update

NEVER = 2**62  # a ``before_ms`` later than any row: fold the whole log


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A document's log folded up to ``upto_seq``: one merged update and its state vector.

    ``base_seq`` is the snapshot it was built on (0: none); the swap checks it is still there.
    """

    base_seq: int
    upto_seq: int
    body: bytes
    state_vector: bytes


def fresh_updates(updates: Iterable[Update], held: set[bytes]) -> list[Update]:
    """The updates to append, in their order: not held yet, nor repeated earlier in the batch."""
    seen = set(held)
    fresh = []
    for update in updates:
        if update.hash not in seen:
            seen.add(update.hash)
            fresh.append(update)
    return fresh


def pull_after(cursor: int, snapshot_seq: int | None) -> int:
    """Where a pull starts reading the log: a snapshot the client lacks covers up to its seq."""
    if snapshot_seq is not None and cursor < snapshot_seq:
        return snapshot_seq
    return cursor


def pulled_doc(
    doc_id: str,
    cursor: int,
    limit: int,
    snapshot: tuple[int, bytes | None] | None,
    rows: Sequence[tuple[int, bytes, bytes]],
) -> PulledDoc:
    """The answer to a pull, from the snapshot (seq, body) and up to ``limit + 1`` log rows.

    ``rows`` are (seq, hash, body) with ``seq > pull_after(cursor, snapshot seq)``, in order; the
    extra row only tells that more remain. The snapshot's body may be None when it is not sent.
    """
    sent = bytes(snapshot[1]) if snapshot and cursor < snapshot[0] and snapshot[1] else None
    page = rows[:limit]
    if page:
        last = page[-1][0]
    elif sent is not None and snapshot is not None:
        last = snapshot[0]
    else:
        last = cursor
    return PulledDoc(
        doc_id=doc_id,
        snapshot=sent,
        updates=[Update(hash=bytes(h), body=bytes(b)) for _, h, b in page],
        cursor=last,
        more=len(rows) > limit,
    )


def fold(base_seq: int, upto_seq: int, snapshot: bytes | None, bodies: Iterable[bytes]) -> Snapshot:
    """Apply the snapshot then each update, in order, to a fresh ``Doc`` and encode its state.

    Never ``merge_updates`` on the whole log: it grows far faster than its input (2,000 updates:
    46 ms; 20,000: 3.5 s), while replaying through a ``Doc`` stays linear.
    """
    doc: pycrdt.Doc = pycrdt.Doc()
    if snapshot is not None:
        doc.apply_update(snapshot)
    for body in bodies:
        doc.apply_update(body)
    body = doc.get_update()
    state = pycrdt.get_state(body)
    return Snapshot(base_seq=base_seq, upto_seq=upto_seq, body=body, state_vector=state)


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """The half-open id range [low, high) of ids starting with ``prefix`` (an index range scan).

    Cheaper and safer than ``LIKE``: ids may hold ``_``, a ``LIKE`` wildcard. Compared bytewise
    (SQLite's BINARY, PostgreSQL's "C" collation); ``high`` is None for the empty prefix.
    """
    if not prefix:
        return "", None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def missing_from(snapshot: bytes, state_vector: bytes) -> bytes:
    """The part of ``snapshot`` a replica at ``state_vector`` lacks (with the whole delete set).

    pycrdt diffs the raw update without a live ``Doc``. A malformed state vector raises
    ValueError.
    """
    try:
        return pycrdt.get_update(snapshot, state_vector)
    except Exception as exc:  # pycrdt raises its Rust errors as plain exceptions
        raise ValueError(f"not a state vector: {exc}") from exc
