"""Documents stay small, and one of any size still syncs.

A busy day of 3,000 quick sales stays under a document's 5 MB budget. A day document larger than
the relay's 8 MiB limit on one update (a store that sold for a long time before it was enrolled)
is pushed by an appliance and pulled by its replacement in segments, each well under the limit.
"""

from __future__ import annotations

from pathlib import Path

import pycrdt

from bench.edge_sale import EdgeSale
from edge.app.bootstrap import open_edge
from edge.app.config import EdgeConfig
from edge.store.compaction import SEGMENT_BYTES
from edge.store.db import connect, db_path
from edge.store.documents import load_doc
from shared.ids import uuid7
from shared.schemas import documents as d
from shared.schemas.documents import DOC_BUDGET_BYTES
from shared.schemas.sync import MAX_UPDATE_BYTES
from tests.relay.support import RelayServer
from tests.support.server import EdgeServer, cli, pair_tablet
from tests.support.store import owner_of
from tests.support.sync import FAST_SYNC, Org, owner_client, rows, synced, wait_for

BUSY_DAY = 3_000


def test_a_busy_day_of_3000_sales_stays_under_the_budget(tmp_path: Path) -> None:
    sale = EdgeSale(tmp_path / "edge")  # the demo café's three-line cash sale, the till open
    try:
        for _ in range(BUSY_DAY - 1):
            sale.sell()
        conn = sale.edge.store.read
        (day,) = {r[0] for r in conn.execute("SELECT doc_id FROM orders")}
        merged = load_doc(conn, day).get_update()
        assert len(load_doc(conn, day).get("orders", type=pycrdt.Map)) == BUSY_DAY
        # An order with its payment, till entry and audit costs at most 1 KB in its document.
        assert len(merged) / BUSY_DAY <= 1024
        assert len(merged) < DOC_BUDGET_BYTES
    finally:
        sale.close()


def _fill_day(data_dir: Path, orders: int, note_bytes: int) -> tuple[str, list[str]]:
    """Orders with long notes written into today's day document of a store that has not synced
    yet: (the day's document id, the order ids)."""
    edge = open_edge(EdgeConfig.load(data_dir))
    try:
        actor = owner_of(edge, "till")
        day = edge.day_doc(
            edge.open_day(edge.store.read, edge.clock(), edge.settings(edge.store.read))
        )
        ids = []
        for n in range(orders):
            order = d.Order(
                id=uuid7(), number=n + 1, business_day=day.rsplit("/", 1)[1],
                note=f"{n:08d}" + "x" * note_bytes, device_id="till", opened_by=actor.employee_id,
                opened_at_ms=edge.clock(), updated_at_ms=edge.clock(),
            )  # fmt: skip
            entry = d.AuditEntry(
                id=uuid7(), at_ms=edge.clock(), actor_id=actor.employee_id, device_id="till",
                action="order.created", entity_type="order", entity_id=order.id,
            )  # fmt: skip

            def write(tx, o=order, e=entry):  # type: ignore[no-untyped-def]
                tx.put(day, "orders", o)
                tx.audit(day, e)

            edge.store.writer.call(write)
            ids.append(order.id)
        return day, ids
    finally:
        edge.store.stop()


COMPACTING = {  # the relay folds what arrives at once
    "FYNLO_RELAY_COMPACT_INTERVAL_S": "0.2",
    "FYNLO_RELAY_COMPACT_MIN_AGE_S": "0",
    "FYNLO_RELAY_COMPACT_MIN_UPDATES": "1",
}


def test_a_document_larger_than_one_update_may_be_is_pushed_and_pulled(tmp_path: Path) -> None:
    with RelayServer(tmp_path / "relay", env=COMPACTING) as relay:
        org = Org(relay)
        store_id, code = org.store()
        data = tmp_path / "a"
        enrolled = cli(
            "enroll", "--data", str(data), "--relay", relay.url, "--code", code, "--demo"
        )
        assert store_id in enrolled.stdout
        relay.stop()  # a clean stop: the whole file is last night's backup
        relay_db = relay.data_dir / "relay.db"
        backup = relay_db.read_bytes()
        relay.start()
        # A day far beyond any real one: 800 orders with 20 KB notes, 16 MB in all.
        day, ids = _fill_day(data, orders=800, note_bytes=20_000)
        edge = EdgeServer(data, env=FAST_SYNC)
        edge.start()
        try:
            owner = pair_tablet(edge)
            owner.login("1111")
            wait_for(lambda: synced(owner), "the big day on the relay", timeout_s=120)
            # The appliance folds what the relay acknowledged into segments.

            def segments() -> list[int]:
                sql = "SELECT raw_size FROM crdt_segment WHERE doc_id = ?"
                return [size for (size,) in rows(edge, sql, day)]

            wait_for(lambda: sum(segments()) > MAX_UPDATE_BYTES, "the appliance's compaction")
            # The document is over one update's limit, each segment far under it.
            assert max(segments()) <= SEGMENT_BYTES < MAX_UPDATE_BYTES
            # The relay comes back from last night's backup, without the day: the appliance
            # notices and pushes it again, as segments.
            relay.stop()
            for leftover in relay_db.parent.glob("relay.db-*"):
                leftover.unlink()
            relay_db.write_bytes(backup)
            relay.start()
            owner.post("/api/v1/sync/now")
            wait_for(lambda: synced(owner), "the big day pushed again", timeout_s=120)
        finally:
            edge.stop()
        # Its replacement pulls the day into an empty directory, segment by segment.
        with owner_client(relay) as http:
            replace = http.post(
                f"/api/v1/stores/{store_id}/enrollment-codes", json={"replace": True}
            )
        assert replace.status_code == 201, replace.text
        fresh = tmp_path / "b"
        pulled = cli("enroll", "--data", str(fresh), "--relay", relay.url,
                     "--code", replace.json()["code"])  # fmt: skip
        assert store_id in pulled.stdout
        conn = connect(db_path(fresh), writer=False)
        try:
            copy = load_doc(conn, day)
        finally:
            conn.close()
        assert sorted(copy.get("orders", type=pycrdt.Map).keys()) == sorted(ids)
        assert len(copy.get_update()) > MAX_UPDATE_BYTES
