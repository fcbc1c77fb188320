"""What the sync worker pushes: local updates after the cursor, segments when compacted."""

from __future__ import annotations

import pycrdt

from edge.store.compaction import compact_once
from edge.store.db import connect
from edge.store.documents import document_sizes, load_doc
from edge.store.store import Store
from edge.sync import cursors
from shared.schemas.sync import PushAck, update_hash
from tests.support.store import DAY, new_order


def _ack(accepted: int, head: int) -> PushAck:
    return PushAck(doc_id=DAY, accepted=accepted, duplicates=0, head=head)


def _pull_cursor(store: Store) -> int:
    return cursors.cursors(store.read)[DAY].pull_cursor


def test_pending_pages_through_local_updates_after_the_cursor(store: Store) -> None:
    for _ in range(5):
        store.writer.call(new_order)
    updates, upto = cursors.pending(store.read, DAY, 0, 3)
    assert len(updates) == 3
    assert all(u.hash == update_hash(u.body) for u in updates)
    rest, last = cursors.pending(store.read, DAY, upto, 10)
    assert len(rest) == 2
    assert cursors.pending(store.read, DAY, last, 10) == ([], last)
    assert cursors.pending_counts(store.read) == {DAY: 5}
    store.writer.call(lambda tx: cursors.record_push(tx.conn, DAY, last, _ack(5, 5), tx.at_ms))
    assert cursors.pending_counts(store.read) == {}


def test_after_compaction_the_segment_carries_what_was_not_pushed(store: Store) -> None:
    for _ in range(6):
        store.writer.call(new_order)
    assert compact_once(connect(store.path, writer=False), store.writer, threshold=5) == 1
    assert cursors.pending_counts(store.read) == {DAY: 1}
    updates, upto = cursors.pending(store.read, DAY, 0, 100)
    assert len(updates) == 1  # the segment alone holds all six sales
    replica = pycrdt.Doc()
    replica.apply_update(updates[0].body)
    mine = load_doc(store.read, DAY)
    assert (
        replica.get("orders", type=pycrdt.Map).to_py()
        == mine.get("orders", type=pycrdt.Map).to_py()
    )
    assert upto > 0


def test_remote_updates_are_never_pushed_back(store: Store) -> None:
    other = pycrdt.Doc()
    other.get("orders", type=pycrdt.Map)["x"] = "not an order"  # kept, never projected
    assert store.writer.call(lambda tx: tx.apply_remote(DAY, other.get_update())) is True
    assert cursors.pending(store.read, DAY, 0, 10)[0] == []
    assert store.read.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_an_enrolled_appliance_folds_only_what_the_relay_acknowledged(store: Store) -> None:
    for _ in range(8):
        store.writer.call(new_order)
    store.writer.call(
        lambda tx: tx.conn.execute("INSERT INTO meta (key, value) VALUES ('relay_url', 'x')")
    )
    conn = connect(store.path, writer=False)
    assert compact_once(conn, store.writer, threshold=5) == 0  # nothing acknowledged yet
    pushed, upto = cursors.pending(store.read, DAY, 0, 3)
    assert len(pushed) == 3
    store.writer.call(lambda tx: cursors.record_push(tx.conn, DAY, upto, _ack(3, 3), tx.at_ms))
    assert compact_once(conn, store.writer, threshold=3) == 1
    # The three pushed updates are folded; the five unpushed ones wait, small, in the log.
    rest, _ = cursors.pending(store.read, DAY, upto, 100)
    assert len(rest) == 5
    assert store.read.execute("SELECT count(*) FROM crdt_update").fetchone() == (5,)


def test_a_push_that_only_adds_our_own_updates_moves_the_pull_cursor_past_them(
    store: Store,
) -> None:
    def pushed(ack: PushAck) -> None:
        store.writer.call(lambda tx: cursors.record_push(tx.conn, DAY, 1, ack, tx.at_ms))

    pushed(_ack(accepted=3, head=3))  # the relay held nothing: seqs 1-3 are ours
    assert _pull_cursor(store) == 3
    pushed(_ack(accepted=0, head=3))  # all duplicates
    assert _pull_cursor(store) == 3
    pushed(_ack(accepted=2, head=7))  # seqs 4-5 came from elsewhere: they must still be pulled
    assert _pull_cursor(store) == 3
    store.writer.call(lambda tx: cursors.record_pull(tx.conn, DAY, 7, 7, tx.at_ms))
    pushed(_ack(accepted=1, head=8))
    assert _pull_cursor(store) == 8


def test_document_sizes_count_the_segments_and_the_log_after_them(store: Store) -> None:
    for _ in range(6):
        store.writer.call(new_order)
    log = store.read.execute("SELECT sum(length(body)) FROM crdt_update").fetchone()[0]
    assert document_sizes(store.read) == {DAY: log}
    compact_once(connect(store.path, writer=False), store.writer, threshold=5)
    # a segment counts what it holds, not what it takes deflated
    held, kept = store.read.execute(
        "SELECT sum(raw_size), sum(length(body)) FROM crdt_segment"
    ).fetchone()
    assert kept < held
    tail = store.read.execute("SELECT coalesce(sum(length(body)), 0) FROM crdt_update").fetchone()
    assert document_sizes(store.read) == {DAY: held + tail[0]}
