"""An entry this appliance cannot read fails alone: left out of the tables, listed, and cleared by
the update that makes it readable; everything that came with it is projected.

In process, on real SQLite: remote updates are applied through the writer as the sync worker does.
"""

from __future__ import annotations

import pycrdt

from edge.store import quarantine
from edge.store.db import connect
from edge.store.documents import load_doc
from edge.store.rebuild import rebuild
from edge.store.store import Store
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas import compact, stamped
from shared.schemas import documents as d
from tests.integration.test_store import assert_rebuild_reproduces
from tests.support.store import DAY, audit, order_at

CATALOG = "org/o1/catalog"
SETTINGS = "store/s1/settings"
UNKNOWN = "org/o1/customers/7"


def _listed(store: Store) -> dict[tuple[str, str, str], quarantine.Quarantined]:
    return {(q.doc_id, q.collection, q.key): q for q in quarantine.entries(store.read)}


def _item(name: str = "Latte") -> d.Item:
    return d.Item(id=uuid7(), name=name, category_id="c1", price_minor=340)


def _put_item(store: Store, item: d.Item) -> None:
    def put(tx: WriteTx) -> None:
        tx.put(CATALOG, "items", item)
        audit(tx)

    store.writer.call(put)


def _remote(store: Store, doc_id: str, edit: object) -> None:
    """Another replica, level with this one, edits ``doc_id``; its update arrives here."""
    replica = load_doc(store.read, doc_id)
    base = replica.get_state()
    with replica.transaction():
        edit(replica)  # type: ignore[operator]
    update = replica.get_update(base)
    assert store.writer.call(lambda tx: tx.apply_remote(doc_id, update)) is True


def _names(store: Store) -> list[str]:
    return [r[0] for r in store.read.execute("SELECT name FROM items ORDER BY name")]


def test_an_item_turned_into_text_is_left_out_alone_and_cleared_by_its_removal(
    store: Store,
) -> None:
    bad, good = _item("Latte"), _item("Mocha")
    _put_item(store, bad)
    _put_item(store, good)

    def break_one_add_one(doc: pycrdt.Doc) -> None:
        items = doc.get("items", type=pycrdt.Map)
        items[bad.id] = "not an item"
        cells = items[good.id]
        stamped.write(cells, "price_minor", 360, stamped.Stamping(store.clock(), "relay", "o"))

    _remote(store, CATALOG, break_one_add_one)
    assert _names(store) == ["Mocha"]  # the unreadable one is out; the rest of the update is in
    assert store.read.execute(f"SELECT price_minor FROM items WHERE id = '{good.id}'").fetchone()
    assert store.read.execute("SELECT count(*) FROM items_fts").fetchone() == (1,)
    (entry,) = quarantine.entries(store.read)
    assert (entry.doc_id, entry.collection, entry.key, entry.projected) == (
        CATALOG,
        "items",
        bad.id,
        False,
    )
    assert "not a map of fields" in entry.error
    assert_rebuild_reproduces(store)  # a rebuild leaves it out too

    _remote(store, CATALOG, lambda doc: doc.get("items", type=pycrdt.Map).pop(bad.id))
    assert quarantine.entries(store.read) == []


def test_a_rebuild_lists_the_same_entries_and_keeps_when_they_were_first_seen(
    store: Store,
) -> None:
    bad = _item()
    _put_item(store, bad)
    _remote(store, CATALOG, lambda doc: doc.get("items", type=pycrdt.Map).update({bad.id: "x"}))
    before = _listed(store)
    conn = connect(store.path, writer=True)
    try:
        rebuild(conn, at_ms=before[(CATALOG, "items", bad.id)].first_seen_ms + 60_000)
    finally:
        conn.close()
    after = _listed(store)
    assert after.keys() == before.keys()
    (key,) = after
    assert after[key].first_seen_ms == before[key].first_seen_ms
    assert after[key].last_seen_ms == before[key].last_seen_ms + 60_000


def test_an_unreadable_cell_beside_a_good_one_leaves_the_value_and_a_write_heals_it(
    store: Store,
) -> None:
    def set_currency(tx: WriteTx, value: str) -> None:
        tx.set(SETTINGS, "settings", "currency", value)
        audit(tx)

    store.writer.call(lambda tx: set_currency(tx, "GBP"))
    rogue = stamped.cell_key("currency", stamped.Stamp(store.clock() + 1_000, 0, "rogue"))
    _remote(
        store,
        SETTINGS,
        lambda doc: doc.get("settings", type=pycrdt.Map).update({rogue: pycrdt.Map({"v": 1})}),
    )
    value = store.read.execute(
        "SELECT value FROM doc_values WHERE doc_id = ? AND key = 'currency'", (SETTINGS,)
    ).fetchone()
    assert value == ('"GBP"',)  # the latest readable cell
    entry = _listed(store)[(SETTINGS, "settings", "currency")]
    assert entry.projected and rogue in entry.error
    # An edit of the field deletes every cell of it that it saw, the unreadable one too.
    store.writer.call(lambda tx: set_currency(tx, "EUR"))
    assert quarantine.entries(store.read) == []
    cells = load_doc(store.read, SETTINGS).get("settings", type=pycrdt.Map)
    assert rogue not in cells and stamped.values(cells) == {"currency": "EUR"}


def test_a_flat_value_of_the_wrong_type_is_left_out(store: Store) -> None:
    cell = stamped.cell_key("currency", stamped.Stamp(store.clock(), 0, "rogue"))
    _remote(
        store,
        SETTINGS,
        lambda doc: doc.get("settings", type=pycrdt.Map).update({cell: '{"v": 5}'}),
    )
    assert store.read.execute("SELECT count(*) FROM doc_values").fetchone() == (0,)
    entry = _listed(store)[(SETTINGS, "settings", "currency")]
    assert not entry.projected and "Expected `str`" in entry.error


def test_an_order_whose_line_id_another_order_holds_is_left_out_alone(store: Store) -> None:
    at_ms = store.clock()
    line = d.OrderLine(id=uuid7(), item_id="i1", name="Latte", quantity=1, unit_price_minor=340)
    first = d.Order(**{**_fields(order_at(at_ms)), "lines": [line]})
    clash = d.Order(**{**_fields(order_at(at_ms)), "lines": [line]})
    other = order_at(at_ms)

    def three(doc: pycrdt.Doc) -> None:
        orders = doc.get("orders", type=pycrdt.Map)
        orders[first.id] = compact.encode(first)
        orders[clash.id] = compact.encode(clash)
        orders[other.id] = compact.encode(other)

    _remote(store, DAY, three)
    projected = {r[0] for r in store.read.execute("SELECT id FROM orders")}
    assert other.id in projected and len(projected) == 2  # one of the two that clash is out
    (left_out,) = {first.id, clash.id} - projected
    (entry,) = quarantine.entries(store.read)
    assert (entry.collection, entry.key) == ("orders", left_out)
    assert "ConstraintError" in entry.error
    lines = store.read.execute("SELECT order_id FROM order_lines").fetchall()
    assert lines == [(({first.id, clash.id} - {left_out}).pop(),)]


def test_a_document_of_an_unknown_kind_is_kept_listed_and_cleared_once_emptied(
    store: Store,
) -> None:
    key = uuid7()
    _remote(store, UNKNOWN, lambda doc: doc.get("customers", type=pycrdt.Map).update({key: "x"}))
    (entry,) = quarantine.entries(store.read)
    assert (entry.doc_id, entry.collection, entry.key) == (UNKNOWN, "customers", "")
    assert "document this version cannot read" in entry.error
    assert store.read.execute(
        "SELECT count(*) FROM crdt_update WHERE doc_id = ?", (UNKNOWN,)
    ).fetchone() == (1,)  # kept: every replica converges, a later version reads it
    assert_rebuild_reproduces(store)
    assert len(quarantine.entries(store.read)) == 1  # the rebuild lists it again

    _remote(store, UNKNOWN, lambda doc: doc.get("customers", type=pycrdt.Map).pop(key))
    assert quarantine.entries(store.read) == []


def test_an_unknown_root_of_a_known_document_is_listed(store: Store) -> None:
    _remote(store, CATALOG, lambda doc: doc.get("widgets", type=pycrdt.Map).update({"w": "1"}))
    (entry,) = quarantine.entries(store.read)
    assert (entry.collection, entry.key) == ("widgets", "")


def _fields(order: d.Order) -> dict[str, object]:
    return {name: getattr(order, name) for name in order.__struct_fields__}
