"""A second client reads the relay's documents exactly as the appliance's API answers.

Real processes: a relay and an enrolled demo café. The owner edits an item at the relay while the
manager edits the same item at the cut-off store (a conflict, and cells of two replicas), then a
day's trade: a multi-line order with modifiers, a variant, a voided line, discounts and a split
tender, quick sales, a refund, a voided order, a paid-out, the till closed and the day sealed.
Once both sides hold the same documents, the catalog and the day are pulled from the relay's sync
API as the appliance would, applied with the npm ``yjs`` package and decoded with nothing but the
published layout (tools/yjs-reference): every entity and every field must equal the API's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.schemas.documents import catalog_doc
from tests.support.answers import expect_json
from tests.support.catalog import read_menu
from tests.support.reference_client import (
    appliance_token,
    assert_same_entities,
    decode,
    differences,
    node,
    relay_segments,
    relay_updates,
)
from tests.support.server import MANAGER_PIN, Tablet, pair_tablet
from tests.support.shop import Shop, open_shop
from tests.support.sync import owner_client, synced, wait_for

RELAY_PRICE, STORE_PRICE = 111, 222
# The relay folds its logs into merged segments as soon as it can: the client reads those.
COMPACTING = {
    "FYNLO_RELAY_COMPACT_INTERVAL_S": "0.2",
    "FYNLO_RELAY_COMPACT_MIN_AGE_S": "0",
    "FYNLO_RELAY_COMPACT_MIN_UPDATES": "1",
}
DAY_COLLECTIONS = ["audit", "drawer_entries", "drawer_sessions", "orders", "payments", "refunds"]


def without(entity: dict[str, Any], *names: str) -> dict[str, Any]:
    """An API answer without what it adds to the stored entity."""
    return {k: v for k, v in entity.items() if k not in names}


def edit_the_croissant_on_both_sides(shop: Shop, manager: Tablet) -> None:
    """The owner at the relay and the manager at the store, neither seeing the other's edit."""
    with owner_client(shop.relay) as owner:
        shop.proxy.cut()
        relay_url = f"/api/v1/orgs/{shop.org_id}/catalog/items/{shop.item_id}"
        expect_json(owner.patch(relay_url, json={"price_minor": RELAY_PRICE, "name": "Butter"}))
        # Later in time, so the store's price wins: sequential requests, each well over a ms.
        store_edit = {"price_minor": STORE_PRICE, "sku": "CRS-1"}
        expect_json(manager.patch(f"/api/v1/catalog/items/{shop.item_id}", json=store_edit))
        shop.proxy.heal()


def sell_a_table_order(shop: Shop, manager: Tablet) -> None:
    """Modifiers, a variant, a voided line, an order and a line discount, card then cash."""
    menu = read_menu(manager)
    latte = {**menu.line("Latte", 2, Size="Large", Milk="Oat"), "note": "extra hot"}
    juice = {
        "item_id": menu.items["Orange juice"]["id"],
        "quantity": 1,
        "variant_id": menu.variant("Orange juice", "Large"),
    }
    croissants = {"item_id": shop.item_id, "quantity": 3}
    opened = {
        "lines": [latte, juice, croissants],
        "table": "T4",
        "note": "window seat",
        "service_charge_percent": "12.5",
    }
    order = expect_json(manager.post("/api/v1/orders", json=opened), 201)
    url = f"/api/v1/orders/{order['id']}"
    cola = {"item_id": menu.items["Cola"]["id"], "quantity": 1}
    with_cola = expect_json(manager.post(f"{url}/lines", json={"lines": [cola]}))
    expect_json(manager.post(f"{url}/lines/{with_cola['lines'][-1]['id']}/void", json={}))
    pound_off = {"discount_id": menu.discounts["£1 off"]["id"]}
    expect_json(manager.post(f"{url}/discounts", json=pound_off))
    staff = {
        "name": "Staff",
        "kind": "amount",
        "amount_minor": 50,
        "line_id": order["lines"][2]["id"],
    }
    expect_json(manager.post(f"{url}/discounts", json=staff))
    expect_json(manager.post(f"{url}/send"))
    card = {"tender": "card", "amount_minor": 1000, "tip_minor": 100, "reference": "AUTH-1"}
    paid = expect_json(manager.post(f"{url}/payments", json=card), 201)
    balance = paid["order"]["totals"]["balance_minor"]
    cash = {"tender": "cash", "tendered_minor": balance + 70}
    assert expect_json(manager.post(f"{url}/payments", json=cash), 201)["change_minor"] == 70
    expect_json(manager.post(f"{url}/close"))


def finish_the_day(shop: Shop) -> None:
    """Quick sales, a refund, a void and a paid-out; then the till closed and the day sealed."""
    first, _ = shop.sell(2)
    refund = {"tender": "cash", "amount_minor": 100, "reason": "cold"}
    expect_json(shop.owner.post(f"/api/v1/orders/{first}/refunds", json=refund), 201)
    lines = [{"item_id": shop.item_id, "quantity": 1}]
    mistake = expect_json(shop.owner.post("/api/v1/orders", json={"lines": lines}), 201)
    void = {"reason": "rung up twice"}
    expect_json(shop.owner.post(f"/api/v1/orders/{mistake['id']}/void", json=void))
    paid_out = {"amount_minor": 250, "reason": "milk"}
    expect_json(shop.owner.post("/api/v1/drawer/paid-out", json=paid_out), 201)
    till = expect_json(shop.owner.get("/api/v1/drawer/sessions/current"))
    counted = {"counts": {"1000": 5, "500": 1}}
    expect_json(shop.owner.post(f"/api/v1/drawer/sessions/{till['id']}/close", json=counted))
    expect_json(shop.owner.post("/api/v1/reports/z"), 201)


def both_sides_equal(shop: Shop) -> None:
    """Everything on the relay, level with the appliance, and merged there into segments."""
    shop.sync_now()
    wait_for(lambda: synced(shop.owner), "nothing pending and no failure")
    wait_for(lambda: not shop.unequal_documents(), "every document equal on both sides")
    for doc_id in (catalog_doc(shop.org_id), shop.day()):
        wait_for(lambda d=doc_id: relay_segments(shop.relay, d) > 0, f"the relay folding {doc_id}")


def check_catalog(shop: Shop, token: str) -> None:
    doc_id = catalog_doc(shop.org_id)
    decoded = decode(doc_id, relay_updates(shop.relay, token, doc_id))
    assert decoded["unreadable"] == []
    api = expect_json(shop.owner.get("/api/v1/catalog", params={"include_archived": True}))
    assert sorted(decoded["collections"]) == sorted(api)
    for name, entities in api.items():
        assert_same_entities(name, entities, decoded["collections"][name])
    croissant = decoded["collections"]["items"][shop.item_id]
    assert (croissant["price_minor"], croissant["name"], croissant["sku"]) == (
        STORE_PRICE,
        "Butter",
        "CRS-1",
    )

    def by_key(conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(conflicts, key=lambda c: c["lost_key"])

    listed = [c for c in expect_json(shop.owner.get("/api/v1/conflicts")) if c["doc_id"] == doc_id]
    assert differences(by_key(listed), by_key(decoded["conflicts"]), "conflicts") == []
    (conflict,) = decoded["conflicts"]
    assert (conflict["value"], conflict["lost_value"]) == (STORE_PRICE, RELAY_PRICE)


def check_day(shop: Shop, token: str) -> None:
    doc_id = shop.day()
    day = doc_id.rsplit("/", 1)[1]
    decoded = decode(doc_id, relay_updates(shop.relay, token, doc_id))
    assert decoded["unreadable"] == [] and decoded["conflicts"] == []
    held = decoded["collections"]
    assert sorted(held) == sorted([*DAY_COLLECTIONS, "seal"])

    orders = expect_json(shop.owner.get("/api/v1/orders", params={"day": day, "limit": 500}))
    details = [expect_json(shop.owner.get(f"/api/v1/orders/{o['id']}")) for o in orders]
    sessions = [
        expect_json(shop.owner.get(f"/api/v1/drawer/sessions/{s['id']}"))
        for s in expect_json(shop.owner.get("/api/v1/drawer/sessions", params={"day": day}))
    ]
    audit = expect_json(shop.owner.get("/api/v1/audit", params={"day": day, "limit": 1000}))
    answered = {
        "orders": [without(o, "payments", "refunds") for o in details],
        "payments": [p for o in details for p in o["payments"]],
        "refunds": [r for o in details for r in o["refunds"]],
        "drawer_sessions": [without(s, "business_day", "entries") for s in sessions],
        "drawer_entries": [e for s in sessions for e in s["entries"]],
        "audit": audit,
    }
    for name in DAY_COLLECTIONS:
        assert_same_entities(name, answered[name], held[name])
    sealed = expect_json(shop.owner.get(f"/api/v1/reports/z/{day}"))
    assert differences(sealed, held["seal"]["seal"], "seal") == []


def test_the_relays_documents_read_by_yjs_equal_the_appliances_api(tmp_path: Path) -> None:
    node()  # without Node there is no second client: fail before starting anything
    with open_shop(tmp_path, COMPACTING) as shop:
        manager = pair_tablet(shop.edge, "manager till")
        manager.login(MANAGER_PIN)
        edit_the_croissant_on_both_sides(shop, manager)
        sell_a_table_order(shop, manager)
        finish_the_day(shop)
        both_sides_equal(shop)
        token = appliance_token(shop.edge)
        check_catalog(shop, token)
        check_day(shop, token)
