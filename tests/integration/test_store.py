"""The store on real SQLite files: migrations, the write path, documents, log and rebuild."""

from __future__ import annotations

import threading
from pathlib import Path

import apsw
import msgspec
import pycrdt
import pytest

from edge.domain.errors import Conflict
from edge.store.collections import collection
from edge.store.compaction import SEGMENT_UPDATES, build_segment, compact_once, swap_segment
from edge.store.db import connect
from edge.store.documents import (
    document_ids,
    load_doc,
    pinned_client_id,
    update_hash,
)
from edge.store.errors import SchemaTooNew
from edge.store.migrations import MIGRATIONS, migrate, schema_version
from edge.store.projection import encode, read_entry
from edge.store.rebuild import projection_dump, rebuild
from edge.store.store import Store, create
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas import documents as d
from shared.schemas import stamped
from tests.support.store import DAY, audit, new_order, order_at

CATALOG = "org/o1/catalog"


def assert_rebuild_reproduces(store: Store) -> None:
    """Rebuilding every projection from the document log gives the same tables back."""
    before = projection_dump(store.read)
    conn = connect(store.path, writer=True)
    try:
        rebuild(conn)
        assert projection_dump(conn) == before
    finally:
        conn.close()


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.read.execute(sql).fetchall()


def test_migrations_run_from_empty_and_are_idempotent(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db", writer=True)
    assert schema_version(conn) == 0
    assert migrate(conn) == len(MIGRATIONS)
    assert migrate(conn) == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert {"crdt_update", "crdt_segment", "crdt_client", "orders", "audit"} <= tables


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db", writer=True)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNew):
        migrate(conn)


def test_v4_keeps_the_log_and_starts_new_seqs_above_every_recorded_one(tmp_path: Path) -> None:
    # A v3 file whose compaction deleted the top of the log: its push cursor is above every row.
    conn = connect(tmp_path / "x.db", writer=True)
    for version, sql in enumerate(MIGRATIONS[:3], start=1):
        with conn:
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {version}")
    with conn:
        conn.execute(
            "INSERT INTO crdt_snapshot (doc_id, upto_seq, body, at_ms) VALUES (?, 40, x'00', 1)",
            (DAY,),
        )
        conn.execute(
            "INSERT INTO crdt_update (seq, doc_id, hash, body, origin, at_ms)"
            " VALUES (41, ?, x'01', x'02', 'local', 1)",
            (DAY,),
        )
        conn.execute("INSERT INTO sync_state (doc_id, pushed_seq) VALUES (?, 57)", (DAY,))
    migrate(conn)
    assert conn.execute("SELECT doc_id, upto_seq FROM crdt_segment").fetchall() == [(DAY, 40)]
    assert conn.execute("SELECT seq FROM crdt_update").fetchall() == [(41,)]
    with conn:
        conn.execute(
            "INSERT INTO crdt_update (doc_id, hash, body, origin, at_ms)"
            " VALUES (?, x'03', x'04', 'local', 2)",
            (DAY,),
        )
    assert conn.execute("SELECT max(seq) FROM crdt_update").fetchone() == (58,)


def test_writer_runs_in_wal_mode_without_auto_checkpoints(store: Store) -> None:
    assert _rows(store, "PRAGMA journal_mode") == [("wal",)]


def test_every_connection_keeps_one_plan_per_statement(store: Store) -> None:
    # -1 reads the setting without changing it.
    assert store.read.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, -1) == 1
    writer = store.writer.call(lambda tx: tx.conn.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, -1))
    assert writer == 1


def test_a_command_writes_document_log_projection_and_audit_together(store: Store) -> None:
    order = store.writer.call(new_order)
    assert _rows(store, f"SELECT number FROM orders WHERE id = '{order.id}'") == [(order.number,)]
    assert _rows(store, "SELECT count(*) FROM audit") == [(1,)]
    assert _rows(store, f"SELECT count(*) FROM crdt_update WHERE doc_id = '{DAY}'") == [(1,)]
    assert read_entry(load_doc(store.read, DAY), collection("orders"), order.id) == order


def test_a_refused_command_writes_nothing(store: Store) -> None:
    def refuse(tx: WriteTx) -> None:
        new_order(tx)
        raise Conflict("no")

    before = projection_dump(store.read)
    with pytest.raises(Conflict):
        store.writer.call(refuse)
    assert projection_dump(store.read) == before
    assert _rows(store, "SELECT count(*) FROM crdt_update") == [(0,)]


def test_a_failure_while_applying_rolls_back_and_reloads_the_document(store: Store) -> None:
    line = d.OrderLine(id=uuid7(), item_id="i1", name="Latte", unit_price_minor=340, quantity=1)

    def with_line(tx: WriteTx) -> d.Order:
        order = msgspec.structs.replace(order_at(tx.at_ms), lines=[line])
        tx.put(DAY, "orders", order)
        audit(tx)
        return order

    first = store.writer.call(with_line)

    def clash(tx: WriteTx) -> None:
        # Another order holding ``first``'s line id: the order_lines key refuses it after the
        # document has already taken the entry.
        with_line(tx)

    with pytest.raises(apsw.ConstraintError):
        store.writer.call(clash)
    later = store.writer.call(new_order)
    doc = store.writer.call(lambda tx: store.writer.docs.get(tx.conn, DAY))
    keys = set(doc.get("orders", type=pycrdt.Map).keys())
    assert keys == {first.id, later.id}  # the clashing entry is gone from memory too
    assert _rows(store, "SELECT count(*) FROM orders") == [(2,)]


def test_a_write_without_an_audit_entry_is_refused(store: Store) -> None:
    def unaudited(tx: WriteTx) -> None:
        tx.put(DAY, "orders", order_at(tx.at_ms))

    with pytest.raises(RuntimeError, match="audit"):
        store.writer.call(unaudited)
    assert _rows(store, "SELECT count(*) FROM orders") == [(0,)]


def test_concurrent_commands_share_commits_and_all_land(store: Store) -> None:
    results: list[d.Order] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(50):
            order = store.writer.call(new_order)
            with lock:
                results.append(order)

    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({o.id for o in results}) == 500
    assert _rows(store, "SELECT count(*) FROM orders") == [(500,)]
    assert store.writer.batches < store.writer.commands  # some commits were shared


def test_one_refusal_in_a_shared_commit_spares_the_others(store: Store) -> None:
    def refuse(tx: WriteTx) -> None:
        new_order(tx)
        raise Conflict("no")

    # The pump thread is held inside one command while the twenty queue up behind it, so they
    # run as one batch in one transaction, each in its own SAVEPOINT.
    started, release = threading.Event(), threading.Event()

    def hold(tx: WriteTx) -> bool:
        started.set()
        return release.wait(10)

    held = store.writer.submit(hold, lead=False)
    assert started.wait(10)
    before = store.writer.batches
    futures = [store.writer.submit(refuse if i % 2 else new_order, lead=False) for i in range(20)]
    release.set()
    outcomes = [f.exception(timeout=10) is None for f in futures]
    assert held.result() is True
    assert store.writer.batches - before == 2  # the held command's commit, then one shared
    assert outcomes == [i % 2 == 0 for i in range(20)]
    assert _rows(store, "SELECT count(*) FROM orders") == [(10,)]
    assert _rows(store, "SELECT count(*) FROM audit") == [(10,)]


def test_per_field_patch_keeps_the_other_fields(store: Store) -> None:
    item = d.Item(id=uuid7(), name="Latte", category_id="c1", price_minor=340)

    def create_item(tx: WriteTx) -> None:
        tx.put(CATALOG, "items", item)
        audit(tx)

    def rename(tx: WriteTx) -> None:
        tx.patch(CATALOG, "items", item.id, {"name": "Caffè latte"})
        audit(tx)

    store.writer.call(create_item)
    store.writer.call(rename)
    row = _rows(store, f"SELECT name, price_minor FROM items WHERE id = '{item.id}'")
    assert row == [("Caffè latte", 340)]


def test_concurrent_field_edits_from_two_replicas_both_survive(store: Store) -> None:
    item = d.Item(id=uuid7(), name="Latte", category_id="c1", price_minor=340)

    def create_item(tx: WriteTx) -> None:
        tx.put(CATALOG, "items", item)
        audit(tx)

    store.writer.call(create_item)
    # A second replica (the relay, say) starts from our state and changes the price.
    remote = load_doc(store.read, CATALOG)
    cells = remote.get("items", type=pycrdt.Map)[item.id]
    stamped.write(cells, "price_minor", 360, stamped.Stamping(store.clock(), "relay", "o1"))
    remote_update = remote.get_update(load_doc(store.read, CATALOG).get_state())

    def rename(tx: WriteTx) -> None:
        tx.patch(CATALOG, "items", item.id, {"name": "Caffè latte"})
        audit(tx)

    store.writer.call(rename)
    assert store.writer.call(lambda tx: tx.apply_remote(CATALOG, remote_update)) is True
    # The same update twice is logged once and changes nothing.
    assert store.writer.call(lambda tx: tx.apply_remote(CATALOG, remote_update)) is False
    row = _rows(store, f"SELECT name, price_minor FROM items WHERE id = '{item.id}'")
    assert row == [("Caffè latte", 360)]
    assert _rows(store, "SELECT origin FROM crdt_update ORDER BY seq")[-1] == ("remote",)


@pytest.mark.parametrize("local_first", [True, False])
def test_the_later_of_two_concurrent_edits_wins_and_the_other_is_a_conflict(
    store: Store, local_first: bool
) -> None:
    item = d.Item(id=uuid7(), name="Latte", category_id="c1", price_minor=340)

    def create_item(tx: WriteTx) -> None:
        tx.put(CATALOG, "items", item)
        audit(tx)

    store.writer.call(create_item)
    # The relay, from the same state, reprices concurrently: before or after the store does.
    remote = load_doc(store.read, CATALOG)
    base = load_doc(store.read, CATALOG).get_state()
    now = store.clock()
    relay_ms = now + (60_000 if local_first else -60_000)
    cells = remote.get("items", type=pycrdt.Map)[item.id]
    stamped.write(cells, "price_minor", 999, stamped.Stamping(relay_ms, "relay", "owner"))

    def reprice(tx: WriteTx) -> None:
        tx.patch(CATALOG, "items", item.id, {"price_minor": 360})
        audit(tx)

    store.writer.call(reprice)
    store.writer.call(lambda tx: tx.apply_remote(CATALOG, remote.get_update(base)))
    winner, loser = (999, 360) if local_first else (360, 999)
    assert _rows(store, f"SELECT price_minor FROM items WHERE id = '{item.id}'") == [(winner,)]
    (data,) = _rows(store, f"SELECT data FROM conflicts WHERE entity_id = '{item.id}'")[0]
    conflict = msgspec.json.decode(data, type=stamped.Conflict)
    assert (conflict.field, conflict.value, conflict.lost_value) == ("price_minor", winner, loser)
    assert {conflict.replica, conflict.lost_replica} == {"relay", "local"}
    assert_rebuild_reproduces(store)


def test_a_remote_update_projects_the_entries_it_brings(store: Store) -> None:
    # Another appliance's day: an order and its audit entry arrive as one update.
    other = pycrdt.Doc()
    at_ms = 1_795_000_000_000
    order = order_at(at_ms)
    entry = d.AuditEntry(
        id=uuid7(),
        at_ms=at_ms,
        actor_id="e9",
        device_id="t9",
        action="order.created",
        entity_type="order",
        entity_id=order.id,
    )
    with other.transaction():
        other.get("orders", type=pycrdt.Map)[order.id] = encode(order)
        other.get("audit", type=pycrdt.Map)[entry.id] = encode(entry)
    assert store.writer.call(lambda tx: tx.apply_remote(DAY, other.get_update())) is True
    assert _rows(store, f"SELECT number FROM orders WHERE id = '{order.id}'") == [(order.number,)]
    assert _rows(store, f"SELECT action FROM audit WHERE id = '{entry.id}'") == [("order.created",)]
    # Rebuilding from the log gives the same tables: the remote entries are in the log too.
    assert_rebuild_reproduces(store)


def test_rebuild_reproduces_identical_projections(store: Store) -> None:
    for _ in range(30):
        store.writer.call(new_order)
    assert_rebuild_reproduces(store)


def test_compaction_folds_the_log_into_segments_without_losing_entries(store: Store) -> None:
    ids = [store.writer.call(new_order).id for _ in range(60)]
    conn = connect(store.path, writer=False)
    assert compact_once(conn, store.writer, threshold=50) == 1
    assert _rows(store, f"SELECT count(*) FROM crdt_segment WHERE doc_id = '{DAY}'") == [(1,)]
    assert _rows(store, f"SELECT count(*) FROM crdt_update WHERE doc_id = '{DAY}'") == [(0,)]
    first = _rows(store, f"SELECT upto_seq, body FROM crdt_segment WHERE doc_id = '{DAY}'")
    ids += [store.writer.call(new_order).id for _ in range(60)]
    assert compact_once(conn, store.writer, threshold=50) == 1  # a new segment after the first
    assert compact_once(conn, store.writer, threshold=50) == 0  # nothing due any more
    segments = _rows(store, f"SELECT upto_seq, body FROM crdt_segment WHERE doc_id = '{DAY}'")
    assert len(segments) == 2 and segments[0] == first[0]  # a segment is never rewritten
    doc = load_doc(store.read, DAY)
    assert set(doc.get("orders", type=pycrdt.Map).keys()) == set(ids)
    # The live document and the stored one agree, and the writer keeps working on top of it.
    ids.append(store.writer.call(new_order).id)
    assert set(load_doc(store.read, DAY).get("orders", type=pycrdt.Map).keys()) == set(ids)


def test_a_pass_folds_a_bounded_run_and_costs_only_what_it_folds(store: Store) -> None:
    for _ in range(SEGMENT_UPDATES + 10):
        store.writer.call(new_order)
    conn = connect(store.path, writer=False)
    segment = build_segment(conn, DAY)
    assert segment is not None and segment.rows == SEGMENT_UPDATES
    assert store.writer.call(lambda tx: swap_segment(tx, segment))
    assert _rows(store, f"SELECT count(*) FROM crdt_update WHERE doc_id = '{DAY}'") == [(10,)]


def test_log_seqs_never_go_back_after_compaction(store: Store) -> None:
    for _ in range(6):
        store.writer.call(new_order)
    top = _rows(store, "SELECT max(seq) FROM crdt_update")[0][0]
    assert compact_once(connect(store.path, writer=False), store.writer, threshold=5) == 1
    store.writer.call(new_order)  # the log is empty now: a reused seq would be 1 again
    assert _rows(store, "SELECT min(seq) FROM crdt_update")[0][0] > top


def test_a_stale_segment_swap_is_refused(store: Store) -> None:
    for _ in range(5):
        store.writer.call(new_order)
    conn = connect(store.path, writer=False)
    built = build_segment(conn, DAY)
    assert built is not None
    assert store.writer.call(lambda tx: swap_segment(tx, built))
    # A second compactor working from the old view must not add the same rows again.
    assert not store.writer.call(lambda tx: swap_segment(tx, built))


def test_client_ids_stay_pinned_within_a_run_and_change_on_each_start(tmp_path: Path) -> None:
    create(tmp_path)
    with Store(tmp_path) as first:
        first.writer.call(new_order)
        client_id = pinned_client_id(first.read, DAY)
        first.writer.docs.evict(DAY)  # reloaded from the log, as after a compaction
        first.writer.call(new_order)
        reloaded = first.writer.call(lambda tx: first.writer.docs.get(tx.conn, DAY))
        assert reloaded.client_id == client_id
    assert 0 < client_id < 2**53
    with Store(tmp_path) as second:  # as a file restored from a backup would start
        second.writer.call(new_order)
        doc = second.writer.call(lambda tx: second.writer.docs.get(tx.conn, DAY))
        assert doc.client_id != client_id
        assert len(doc.get("orders", type=pycrdt.Map)) == 3
    assert document_ids(connect(tmp_path / "edge.db", writer=False)) == [DAY]


def test_update_hash_is_a_stable_content_hash() -> None:
    assert update_hash(b"abc") == update_hash(b"abc")
    assert update_hash(b"abc") != update_hash(b"abd")


def test_store_refuses_to_start_twice(store: Store) -> None:
    with pytest.raises(RuntimeError):
        store.start()


def test_ids_are_uuid7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert all(i[14] == "7" for i in ids)


def test_flush_lets_a_command_read_its_own_writes(store: Store) -> None:
    def two_steps(tx: WriteTx) -> tuple[int, int | None]:
        order = new_order(tx)
        tx.flush()
        row = tx.conn.execute("SELECT number FROM orders WHERE id = ?", (order.id,)).fetchone()
        new_order(tx)
        return order.number, row[0] if row else None

    number, seen = store.writer.call(two_steps)
    assert seen == number
    assert _rows(store, "SELECT count(*) FROM orders") == [(2,)]


def test_a_refusal_after_a_flush_undoes_the_flushed_writes_too(store: Store) -> None:
    kept = store.writer.call(new_order)

    def flushed_then_refused(tx: WriteTx) -> None:
        new_order(tx)
        tx.flush()
        raise Conflict("no")

    with pytest.raises(Conflict):
        store.writer.call(flushed_then_refused)
    assert _rows(store, "SELECT id FROM orders") == [(kept.id,)]
    doc = store.writer.call(lambda tx: store.writer.docs.get(tx.conn, DAY))
    assert set(doc.get("orders", type=pycrdt.Map).keys()) == {kept.id}
