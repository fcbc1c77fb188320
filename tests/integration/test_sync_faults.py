"""Replication survives faults: a partition, a SIGKILL mid-push, a relay restart, a cut mid-batch.

Real processes: a relay, one appliance enrolled through a loopback proxy (``tests/support/proxy``)
that cuts, stalls or slows the link. After each fault heals, the appliance converges: nothing
pending, every sale on the relay exactly once, and the relay's copy of every document equal to
the appliance's (content of every collection and state vector).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from tests.relay.support import RelayServer
from tests.support.server import OWNER_PIN
from tests.support.shop import Shop, open_shop, relay_doc
from tests.support.sync import owner_client, rows, wait_for

SALES = 20


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    with open_shop(tmp_path) as shop:
        yield shop


def test_a_partition_heals_and_every_sale_arrives_once(shop: Shop) -> None:
    shop.proxy.cut()
    shop.sell(SALES)  # selling never waits for the relay

    def reports_outage() -> bool:
        status = shop.status()
        day = [d for d in status["docs"] if d["doc_id"] == shop.day()]
        return (
            status["summary"]["failures"] > 0
            and status["summary"]["last_error"] is not None
            and bool(day)
            and day[0]["pending_updates"] >= SALES
            and day[0]["last_error"] is not None
        )

    wait_for(reports_outage, "the status to report pending sales and the error")
    day = next(d for d in shop.status()["docs"] if d["doc_id"] == shop.day())
    assert day["size_bytes"] > 0 and day["over_budget"] is False
    assert shop.relay_orders() == {}
    shop.proxy.heal()
    shop.converge()


@pytest.mark.parametrize("held", ["answer", "request"])
def test_an_appliance_killed_mid_push_resumes_without_loss_or_doubles(
    shop: Shop, held: str
) -> None:
    shop.proxy.cut()
    shop.sell(SALES)
    wait_for(lambda: shop.pending() >= SALES, "the sales to wait for the relay")
    if held == "answer":  # the relay stores the push; its acknowledgement never arrives
        shop.proxy.stall(up=False, down=True)
        shop.sync_now()
        wait_for(lambda: len(shop.relay_orders()) == SALES, "the relay to store the push")
    else:  # the push is on its way and never reaches the relay
        shop.proxy.stall(up=True, down=False)
        shop.sync_now()
        # Deflated, twenty sales are a few hundred bytes: any held byte is the push's first.
        wait_for(lambda: shop.proxy.held > 0, "a push to be held in the link")
        assert shop.relay_orders() == {}
    assert shop.pending() >= SALES, "the appliance has no acknowledgement yet"
    shop.edge.kill()
    shop.proxy.heal()
    shop.edge.start()
    shop.owner.login(OWNER_PIN)
    shop.sell(2)  # and it keeps selling after the restart
    shop.converge()


def test_a_relay_restart_mid_sync_converges(shop: Shop) -> None:
    shop.proxy.slow(20_000)  # pushes take a while: the restart lands on some in flight
    shop.sell(SALES // 2)
    shop.relay.stop()
    shop.sell(SALES // 2)
    wait_for(lambda: shop.status()["summary"]["failures"] > 0, "the sync to notice the outage")
    shop.relay.start()
    shop.proxy.heal()
    shop.converge()


def test_a_push_cut_half_way_converges(shop: Shop) -> None:
    shop.proxy.cut()
    shop.sell(3 * SALES)
    wait_for(lambda: shop.pending() >= 3 * SALES, "a big push to build up")
    size = shop.push_bytes()
    before = shop.proxy.forwarded_up
    shop.proxy.slow(size / 2)  # about two seconds for the whole push
    shop.sync_now()
    wait_for(lambda: shop.proxy.forwarded_up - before > size / 2, "the push to be half-way")
    shop.proxy.cut()
    assert shop.proxy.forwarded_up - before < size, "cut before the whole push went through"
    assert shop.relay_orders() == {}, "the cut push stored nothing"
    assert shop.pending() >= 3 * SALES
    shop.proxy.heal()
    shop.converge()


# Rows settle for a few seconds before the relay folds them: time to sell, sync and lock first.
COMPACTING = {
    "FYNLO_RELAY_COMPACT_INTERVAL_S": "0.05",
    "FYNLO_RELAY_COMPACT_MIN_UPDATES": "1",
    "FYNLO_RELAY_COMPACT_MIN_AGE_S": "4",
    "FYNLO_RELAY_LOG_LEVEL": "DEBUG",
}


def test_a_relay_killed_mid_compaction_loses_nothing(tmp_path: Path) -> None:
    with open_shop(tmp_path, COMPACTING) as shop:
        shop.sell(SALES)
        shop.converge()
        day, relay_db = shop.day(), shop.relay.data_dir / "relay.db"
        # Holding the relay's write lock, the compactor can build its snapshot (a read) but not
        # swap it in: once it logs that it is folding the day, it is provably mid-compaction.
        lock = apsw.Connection(str(relay_db))
        lock.execute("BEGIN IMMEDIATE")
        try:
            assert _log_rows(lock, day) > 0, "the day's rows are still in the relay's log"
            mark = shop.relay.log.stat().st_size
            wait_for(lambda: f"compacting {day}" in _log_after(shop.relay, mark), "a compaction")
            shop.relay.kill()
            assert f"compacted {day}" not in _log_after(shop.relay, mark)
            assert _log_rows(lock, day) > 0, "nothing was swapped"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        shop.sell(SALES // 2)  # the appliance sells on while the relay is down
        mark = shop.relay.log.stat().st_size
        shop.relay.start()
        shop.converge()
        wait_for(lambda: f"compacted {day}" in _log_after(shop.relay, mark), "the next compaction")
        shop.assert_replicas_equal()  # the relay's snapshot and tail equal the appliance's day
        shop.sell(2)  # and replication goes on over the compacted log
        shop.converge()


def _log_rows(conn: apsw.Connection, doc_id: str) -> int:
    row = conn.execute("SELECT count(*) FROM doc_updates WHERE doc_id = ?", (doc_id,)).fetchone()
    return int(row[0])


def _log_after(relay: RelayServer, offset: int) -> str:
    with relay.log.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def test_a_store_behind_a_compacted_log_pulls_only_what_it_lacks(tmp_path: Path) -> None:
    with open_shop(tmp_path, COMPACTING) as shop:
        catalog = f"org/{shop.org_id}/catalog"
        shop.sell(1)
        shop.converge()
        shop.proxy.cut()  # offline while the owner reprices and the relay compacts the catalog
        with owner_client(shop.relay) as owner:
            url = f"/api/v1/orgs/{shop.org_id}/catalog/items/{shop.item_id}"
            assert owner.patch(url, json={"price_minor": 333}).status_code == 200
        head = shop.relay.storage(lambda storage: storage.heads([catalog]))[0].head
        # the owner's edit included
        folded = re.compile(rf"compacted {re.escape(catalog)}: \d+ updates up to seq {head} ")
        wait_for(lambda: bool(folded.search(_log_after(shop.relay, 0))), "the compaction")
        shop.proxy.heal()
        shop.sync_now()
        item = f"/api/v1/catalog/items/{shop.item_id}"
        wait_for(lambda: shop.owner.get(item).json()["price_minor"] == 333, "the new price")
        received = rows(
            shop.edge,
            "SELECT length(body) FROM crdt_update WHERE doc_id = ? AND origin = 'remote'",
            catalog,
        )
        whole = relay_doc(shop.relay, catalog).get_update()
        # The whole menu was compacted into segments; the store got only the new price.
        assert received and max(size for (size,) in received) * 10 < len(whole)
        shop.converge()  # and every replica still ends equal


def test_a_relay_restored_from_a_backup_gets_back_what_it_lost(shop: Shop) -> None:
    shop.sell(SALES // 2)
    shop.converge()
    relay_db = shop.relay.data_dir / "relay.db"
    shop.relay.stop()  # a clean stop: the whole file is the backup
    backup = relay_db.read_bytes()
    shop.relay.start()
    shop.sell(SALES // 2)
    shop.converge()
    shop.relay.stop()
    for leftover in relay_db.parent.glob("relay.db-*"):
        leftover.unlink()
    relay_db.write_bytes(backup)  # last night's backup comes back
    shop.relay.start()
    assert len(shop.relay_orders()) == SALES // 2, "the restore lost the later sales"
    shop.converge()  # the appliance notices and gives them back


def test_an_appliance_restored_from_a_backup_sells_offline_and_loses_nothing(
    shop: Shop, tmp_path: Path
) -> None:
    shop.sell(SALES // 2)
    shop.converge()
    shop.edge.stop()
    backup = tmp_path / "backup"
    shutil.copytree(shop.edge.data_dir, backup)  # last night's copy of the appliance
    shop.edge.start()
    shop.owner.login(OWNER_PIN)
    shop.sell(SALES // 2)  # these reach the relay, then the appliance's card dies
    shop.converge()
    shop.edge.stop()
    shutil.rmtree(shop.edge.data_dir)
    shutil.copytree(backup, shop.edge.data_dir)
    shop.proxy.cut()  # and it comes back with no internet
    shop.edge.start()
    shop.owner.login(OWNER_PIN)
    shop.sell(3)  # sales made before it has heard of the ones the backup missed
    shop.proxy.heal()
    shop.converge()  # every sale once on the relay and here, all replicas equal
