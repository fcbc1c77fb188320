"""The owner edits a store's catalog and settings on the relay while the store is offline.

All real processes: a relay, and store A enrolled with the demo café. With A stopped, the owner
reprices the latte on the relay; A starts again and its manager renames the latte at once, before
A has pulled the new price. Both edits name different fields, so both survive everywhere: in A's
tables and in the relay's copy of the catalog. A store setting changed on the relay reaches A.
"""

from __future__ import annotations

from pathlib import Path

from tests.relay.support import RelayServer
from tests.support.server import MANAGER_PIN, pair_tablet
from tests.support.sync import Org, enroll, owner_client, rows, synced, wait_for


def test_owner_and_offline_store_edits_of_one_item_both_survive(
    relay: RelayServer, tmp_path: Path
) -> None:
    org = Org(relay)
    org_id = org.id
    edge_a, store_a = enroll(org, tmp_path / "a")
    owner = owner_client(relay)
    try:
        manager = pair_tablet(edge_a)
        manager.login(MANAGER_PIN)
        wait_for(lambda: synced(manager), "store A to push its menu")
        latte = manager.get("/api/v1/catalog/items", params={"q": "Latte"}).json()[0]
        items_url = f"/api/v1/orgs/{org_id}/catalog/items"

        def on_relay() -> tuple[str, int] | None:
            listed = owner.get(items_url).json()
            return next(
                ((i["name"], i["price_minor"]) for i in listed if i["id"] == latte["id"]), None
            )

        assert on_relay() == (latte["name"], latte["price_minor"])

        edge_a.stop()  # A is offline: the owner's change waits on the relay
        repriced = owner.patch(f"{items_url}/{latte['id']}", json={"price_minor": 395})
        assert repriced.status_code == 200, repriced.text
        assert on_relay() == (latte["name"], 395)

        edge_a.start()
        manager.login(MANAGER_PIN)
        renamed = manager.patch(
            f"/api/v1/catalog/items/{latte['id']}", json={"name": "Caffè latte"}
        )
        assert renamed.status_code == 200, renamed.text

        def both_edits_everywhere() -> bool:
            sql = "SELECT name, price_minor FROM items WHERE id = ?"
            want = ("Caffè latte", 395)
            return rows(edge_a, sql, latte["id"]) == [want] and on_relay() == want

        wait_for(both_edits_everywhere, "both edits to reach store A and the relay")

        # A store setting changed on the relay reaches the store.
        changed = owner.patch(
            f"/api/v1/stores/{store_a}/settings",
            json={"name": "Café A", "service_charge_percent": "12.5"},
        )
        assert changed.status_code == 200, changed.text

        def setting_reached_a() -> bool:
            settings = manager.get("/api/v1/settings").json()
            return settings["name"] == "Café A" and settings["service_charge_percent"] == "12.5"

        wait_for(setting_reached_a, "the owner's setting to reach store A")
        # The store's other settings were kept, and the relay reads what the store holds.
        on_a = manager.get("/api/v1/settings").json()
        assert owner.get(f"/api/v1/stores/{store_a}/settings").json() == on_a
    finally:
        owner.close()
        edge_a.stop()
