"""One active appliance per store, with real processes: a relay, the store's appliance behind a
loopback proxy (``tests/support/shop``), and the appliance that replaces it.

Order numbers stay unique per store-day through a replacement (the new appliance pulls the day
before it numbers anything) and after a restore from backup (every start catches up with the
relay before serving). A repeat that still happens - the old appliance sold offline before it
was cut off - is listed as a reconciliation exception, never silently kept.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx

from edge.store.db import db_path
from tests.support.drawer import open_till
from tests.support.server import OWNER_PIN, EdgeServer, Tablet, cli, pair_tablet
from tests.support.shop import Shop, open_shop
from tests.support.sync import FAST_SYNC, owner_client, synced, wait_for


def sale(tablet: Tablet, item_id: str) -> dict[str, Any]:
    """One quick cash sale; the order as answered (its ``number`` too)."""
    response = tablet.post(
        "/api/v1/orders",
        json={
            "lines": [{"item_id": item_id, "quantity": 1}],
            "payments": [{"tender": "cash", "tendered_minor": 500}],
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def replacement_code(shop: Shop, store_id: str) -> str:
    """A code from the owner API that retires the store's active appliance when redeemed."""
    with owner_client(shop.relay) as owner:
        answer = owner.post(f"/api/v1/stores/{store_id}/enrollment-codes", json={"replace": True})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def replace(shop: Shop, data_dir: Path) -> tuple[EdgeServer, Tablet]:
    """A new appliance enrolled into an empty directory with a replacement code, serving, with
    the owner logged in on a tablet paired to it."""
    store_id = shop.owner.get("/api/v1/status").json()["store_id"]
    out = cli("enroll", "--data", str(data_dir), "--relay", shop.relay.url, "--code",
              replacement_code(shop, store_id))  # fmt: skip
    assert "came from the relay" in out.stdout  # nothing seeded over the store's own data
    server = EdgeServer(data_dir, env=FAST_SYNC)
    server.start()
    owner = pair_tablet(server)
    owner.login(OWNER_PIN)
    return server, owner


def numbers(tablet: Tablet) -> list[int]:
    return sorted(o["number"] for o in tablet.get("/api/v1/orders").json())


def test_a_second_appliance_with_a_plain_code_is_refused_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    with open_shop(tmp_path) as shop:
        store_id = shop.owner.get("/api/v1/status").json()["store_id"]
        with owner_client(shop.relay) as owner:
            answer = owner.post(f"/api/v1/stores/{store_id}/enrollment-codes")
        second = tmp_path / "second"
        refused = cli("enroll", "--data", str(second), "--relay", shop.relay.url, "--code",
                      answer.json()["code"], check=False)  # fmt: skip
        assert refused.returncode == 2 and "replacement code" in refused.stderr
        assert not db_path(second).exists()
        shop.sell(1)  # the store's appliance sells and syncs on, untouched
        shop.converge()


def test_a_replacement_takes_over_the_store_and_numbers_on(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(3)
        renamed = shop.owner.patch("/api/v1/settings", json={"name": "High Street"})
        assert renamed.status_code == 200, renamed.text
        shop.converge()
        new, owner = replace(shop, tmp_path / "new")
        try:
            assert numbers(owner) == [1, 2, 3]  # the day came with it
            assert owner.get("/api/v1/settings").json()["name"] == "High Street"
            open_till(owner)  # the till the old appliance opened, carried on
            assert sale(owner, shop.item_id)["number"] == 4
            wait_for(lambda: synced(owner), "the new appliance to sync")
            # The old appliance's credential is gone: its sync is refused from now on.
            shop.sync_now()
            wait_for(
                lambda: "401" in str(shop.status()["summary"]["last_error"]),
                "the old appliance to be refused",
            )
            assert len(shop.relay_orders()) == 4
        finally:
            new.stop()


def test_an_appliance_restored_from_a_backup_catches_up_before_it_numbers(
    tmp_path: Path,
) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(2)
        shop.converge()
        shop.edge.stop()
        backup = tmp_path / "backup"
        shutil.copytree(shop.edge.data_dir, backup)  # last night's copy of the appliance
        shop.edge.start()
        shop.owner.login(OWNER_PIN)
        shop.sell(3)  # these reach the relay, then the appliance's card dies
        shop.converge()
        shop.edge.stop()
        shutil.rmtree(shop.edge.data_dir)
        shutil.copytree(backup, shop.edge.data_dir)
        # A slow link: the sales the backup missed take seconds to come back, and the first
        # sale after the start must still number after them.
        shop.proxy.slow(2_000)
        shop.edge.env = {**shop.edge.env, "FYNLO_SYNC_CATCH_UP_S": "60"}
        shop.edge.start()
        shop.owner.login(OWNER_PIN)
        assert sale(shop.owner, shop.item_id)["number"] == 6
        shop.proxy.heal()
        assert shop.owner.get("/api/v1/exceptions").json() == []


def test_an_offline_start_serves_at_once(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.edge.stop()
        shop.proxy.stall()  # the relay answers nothing: the catch-up gives up after its bound
        shop.edge.env = {**shop.edge.env, "FYNLO_SYNC_CATCH_UP_S": "1"}
        shop.edge.start(timeout_s=10)
        shop.owner.login(OWNER_PIN)
        [order_id] = shop.sell(1)
        assert shop.owner.get(f"/api/v1/orders/{order_id}").json()["number"] == 1
        shop.proxy.heal()
        shop.converge()


def test_two_live_writers_repeat_a_number_and_a_manager_sees_it(tmp_path: Path) -> None:
    with open_shop(tmp_path) as shop:
        shop.sell(2)
        shop.converge()
        shop.proxy.cut()  # the old appliance goes on selling, unheard
        stranded = sale(shop.owner, shop.item_id)
        new, owner = replace(shop, tmp_path / "new")  # the owner thinks it dead and replaces it
        try:
            open_till(owner)
            theirs = sale(owner, shop.item_id)
            assert stranded["number"] == theirs["number"] == 3
            wait_for(lambda: synced(owner), "the new appliance's sale to reach the relay")
        finally:
            new.stop()
        # The old box turns out to hold a sale: it is enrolled again (retiring the new one) so
        # its sale reaches the relay; both number-3 receipts are real, and both are kept.
        store_id = shop.owner.get("/api/v1/status").json()["store_id"]
        shop.edge.stop()
        again = replacement_code(shop, store_id)
        shop.proxy.heal()
        cli("enroll", "--data", str(shop.edge.data_dir), "--relay", shop.proxy.url, "--code", again)
        shop.edge.start()
        shop.owner.login(OWNER_PIN)
        shop.sold += [stranded["id"], theirs["id"]]
        shop.converge()
        day = stranded["business_day"]
        [exception] = shop.owner.get("/api/v1/exceptions").json()
        assert (exception["kind"], exception["business_day"], exception["number"]) == (
            "duplicate-order-number",
            day,
            3,
        )
        orders = {o["id"]: o for o in exception["orders"]}
        assert set(orders) == {stranded["id"], theirs["id"]}
        assert orders[stranded["id"]]["device_name"] == "till"  # paired with this appliance
        assert orders[theirs["id"]]["device_name"] is None  # a tablet of the other appliance
        assert {o["total_minor"] for o in orders.values()} == {stranded["totals"]["total_minor"]}
        assert all(o["opened_at_ms"] > 0 and o["state"] == "paid" for o in orders.values())
        metrics = httpx.get(f"{shop.edge.url}/metrics").text
        assert "\nfynlo_reconciliation_exceptions 1\n" in metrics
        assert shop.owner.get("/api/v1/exceptions", params={"day": "2000-01-01"}).json() == []
        assert sale(shop.owner, shop.item_id)["number"] == 4  # numbering goes on past both
        # Derived from the documents: a rebuild of every projection lists it again.
        shop.edge.stop()
        cli("rebuild", "--data", str(shop.edge.data_dir))
        shop.edge.start()
        shop.owner.login(OWNER_PIN)
        assert [e["number"] for e in shop.owner.get("/api/v1/exceptions").json()] == [3]
