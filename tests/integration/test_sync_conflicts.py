"""The latest edit wins, by time, on every replica; the edit it beat is kept as a conflict.

Real processes: the owner edits an item on the relay while the store, cut off behind a proxy,
edits the same field; in both orders. Yjs alone would pick the winner by client id, which is
drawn anew at every start: the older edit won about half the time, silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.shop import Shop, open_shop
from tests.support.sync import owner_client, wait_for


def _relay_item(shop: Shop, owner: Any) -> dict[str, Any]:
    items = owner.get(f"/api/v1/orgs/{shop.org_id}/catalog/items").json()
    return next(i for i in items if i["id"] == shop.item_id)


@pytest.mark.parametrize("store_edits_last", [True, False])
def test_the_later_edit_wins_everywhere_and_the_earlier_is_a_conflict(
    tmp_path: Path, store_edits_last: bool
) -> None:
    with open_shop(tmp_path) as shop, owner_client(shop.relay) as owner:
        shop.sell(1)
        shop.converge()
        shop.proxy.cut()
        relay_url = f"/api/v1/orgs/{shop.org_id}/catalog/items/{shop.item_id}"
        store_url = f"/api/v1/catalog/items/{shop.item_id}"

        def relay_edit() -> None:
            assert owner.patch(relay_url, json={"price_minor": 111}).status_code == 200

        def store_edit() -> None:
            response = shop.owner.patch(store_url, json={"price_minor": 222})
            assert response.status_code == 200, response.text

        first, last = (relay_edit, store_edit) if store_edits_last else (store_edit, relay_edit)
        first()
        last()  # later in time: sequential requests, each taking well over a millisecond
        winner, loser = (222, 111) if store_edits_last else (111, 222)
        shop.proxy.heal()
        shop.converge()
        wait_for(lambda: shop.owner.get(store_url).json()["price_minor"] == winner, "the winner")
        assert _relay_item(shop, owner)["price_minor"] == winner

        on_store = shop.owner.get("/api/v1/conflicts").json()
        on_relay = owner.get(f"/api/v1/orgs/{shop.org_id}/conflicts").json()
        assert on_store == on_relay  # one record, the same on every replica
        (conflict,) = on_store
        assert (conflict["entity_id"], conflict["field"]) == (shop.item_id, "price_minor")
        assert (conflict["value"], conflict["lost_value"]) == (winner, loser)
        store_id = shop.day().split("/")[1]
        replicas = (store_id, "relay") if store_edits_last else ("relay", store_id)
        assert (conflict["replica"], conflict["lost_replica"]) == replicas
        assert conflict["at_ms"] > conflict["lost_at_ms"]
        assert conflict["by"] and conflict["lost_by"]  # who made each edit

        # Editing the field again resolves it, everywhere.
        assert shop.owner.patch(store_url, json={"price_minor": 333}).status_code == 200
        shop.converge()
        wait_for(
            lambda: owner.get(f"/api/v1/orgs/{shop.org_id}/conflicts").json() == [],
            "the resolution on the relay",
        )
        assert shop.owner.get("/api/v1/conflicts").json() == []
        assert _relay_item(shop, owner)["price_minor"] == 333
