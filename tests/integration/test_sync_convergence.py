"""No sale is silently left behind: log seqs never go back, and the appliance proves convergence.

Real processes (a relay, one appliance behind a loopback proxy). Each test names a way the relay
once ended up lacking what the appliance held while the status said nothing was pending.
"""

from __future__ import annotations

from pathlib import Path

from edge.store.db import connect, db_path
from tests.support.server import OWNER_PIN
from tests.support.shop import Shop, open_shop
from tests.support.sync import rows, wait_for


def _metric(shop: Shop, name: str) -> float:
    text = shop.owner.get("/metrics").text
    line = next(line for line in text.splitlines() if line.startswith(f"{name} "))
    return float(line.split()[1])


def test_sales_after_the_appliance_compacts_its_log_reach_the_relay(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(300)
        shop.converge()
        # The compactor folds the acknowledged log in a lull: the day's log is emptied.
        wait_for(
            lambda: (
                rows(shop.edge, "SELECT count(*) FROM crdt_segment WHERE doc_id = ?", shop.day())
                != [(0,)]
                and rows(shop.edge, "SELECT count(*) FROM crdt_update WHERE doc_id = ?", shop.day())
                == [(0,)]
            ),
            "the appliance's compaction of the day",
        )
        shop.sell(20)  # numbered in a log whose top rows were deleted
        shop.converge()  # the relay holds all 320, equal to the appliance's document


def test_what_the_relay_lacks_is_found_pushed_again_and_reported(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(1)
        shop.converge()
        shop.proxy.cut()
        shop.sell(5)
        shop.edge.stop()
        # The state an old bug left behind: the cursor claims the relay has these sales.
        conn = connect(db_path(shop.edge.data_dir), writer=True)
        try:
            with conn:
                conn.execute(
                    "UPDATE sync_state SET pushed_seq = (SELECT max(seq) FROM crdt_update)"
                    " WHERE doc_id = ?",
                    (shop.day(),),
                )
        finally:
            conn.close()
        shop.proxy.heal()
        shop.edge.start()
        shop.owner.login(OWNER_PIN)
        shop.converge()  # every sale on the relay: the check found them missing and repaired
        day = next(d for d in shop.status()["docs"] if d["doc_id"] == shop.day())
        assert day["repairs"] >= 1 and day["last_repair_ms"] is not None
        assert day["in_sync"] and not day["relay_missing"]
        assert _metric(shop, "fynlo_sync_repairs_total") >= 1


def test_pending_says_nothing_until_the_relay_is_seen_to_hold_it(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(1)
        shop.converge()
        shop.proxy.cut()
        shop.sell(1)
        day = next(d for d in shop.status()["docs"] if d["doc_id"] == shop.day())
        assert not day["in_sync"] and day["pending_updates"] >= 1


def test_an_old_error_clears_once_sync_recovers(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(1)
        shop.converge()
        shop.proxy.cut()
        shop.sync_now()

        def every_doc_failed() -> bool:
            docs = shop.status()["docs"]
            return bool(docs) and all(d["last_error"] for d in docs)

        wait_for(every_doc_failed, "the outage on every document")
        shop.proxy.heal()
        shop.sync_now()

        def errors_cleared() -> bool:
            status = shop.status()
            return status["summary"]["failures"] == 0 and all(
                d["last_error"] is None and d["last_success_ms"] for d in status["docs"]
            )

        wait_for(errors_cleared, "every document's error to clear")
