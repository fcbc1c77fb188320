"""The catalog API: the tablet catalog, search, CRUD of each kind, validation, store settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.ids import uuid7
from tests.support.problems import PROBLEM, assert_problem
from tests.support.server import EdgeServer, Tablet

API = "/api/v1/catalog"
KINDS = ["categories", "items", "modifier-groups", "tax-rates", "discounts"]


def names(entities: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in entities]


def one(tablet: Tablet, kind: str, name: str) -> dict[str, Any]:
    found = [e for e in tablet.get(f"{API}/{kind}").json() if e["name"] == name]
    assert len(found) == 1, name
    return found[0]


def snapshot(tablet: Tablet) -> dict[str, Any]:
    """Everything a write could change, archived entities included."""
    body: dict[str, Any] = tablet.get(API, params={"include_archived": "true"}).json()
    body["settings"] = tablet.get("/api/v1/settings").json()
    return body


def new_item(tablet: Tablet, name: str, **fields: Any) -> dict[str, Any]:
    bakery = one(tablet, "categories", "Bakery")["id"]
    response = tablet.post(
        f"{API}/items", json={"name": name, "category_id": bakery, "price_minor": 300, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- access ------------------------------------------------------------------------------------


def test_the_catalog_needs_a_token(edge_server: EdgeServer) -> None:
    paths = [API, "/api/v1/settings", *(f"{API}/{kind}" for kind in KINDS)]
    for path in paths:
        assert_problem(httpx.get(f"{edge_server.url}{path}"), 401, "unauthorized")
    for kind in KINDS:
        response = httpx.post(f"{edge_server.url}{API}/{kind}", json={})
        assert_problem(response, 401, "unauthorized")


def test_a_cashier_reads_the_catalog_but_cannot_change_it(cashier: Tablet) -> None:
    before = snapshot(cashier)
    assert len(before["items"]) >= 38
    latte = one(cashier, "items", "Latte")
    for kind in KINDS:
        refused = assert_problem(
            cashier.post(f"{API}/{kind}", json={"name": "x"}), 403, "permission-denied"
        )
        assert refused["permission"] == "catalog.write"
    assert_problem(
        cashier.patch(f"{API}/items/{latte['id']}", json={"price_minor": 1}),
        403,
        "permission-denied",
    )
    assert_problem(cashier.delete(f"{API}/items/{latte['id']}"), 403, "permission-denied")
    assert_problem(
        cashier.patch("/api/v1/settings", json={"name": "Mine now"}), 403, "permission-denied"
    )
    assert snapshot(cashier) == before


# --- reading and search ------------------------------------------------------------------------


def test_search_finds_latte_by_name_prefix_and_sku(cashier: Tablet) -> None:
    found = cashier.get(f"{API}/items", params={"q": "Latte"}).json()
    assert found[0]["name"] == "Latte"
    assert {"Latte", "Chai latte", "Iced latte"} <= set(names(found))
    assert "Latte" in names(cashier.get(f"{API}/items", params={"q": "lat"}).json())
    by_sku = cashier.get(f"{API}/items", params={"q": found[0]["sku"]}).json()
    assert names(by_sku) == ["Latte"]
    assert cashier.get(f"{API}/items", params={"q": "zzzz"}).json() == []


@pytest.mark.parametrize("q", ['"', "lat OR", "name:lat", "NEAR(", "*", "'; DROP TABLE items"])
def test_search_treats_query_syntax_as_plain_text(cashier: Tablet, q: str) -> None:
    response = cashier.get(f"{API}/items", params={"q": q})
    assert response.status_code == 200, response.text


def test_items_filter_by_category_and_barcode(cashier: Tablet) -> None:
    coffee = one(cashier, "categories", "Coffee")["id"]
    coffees = cashier.get(f"{API}/items", params={"category_id": coffee}).json()
    assert "Latte" in names(coffees) and all(i["category_id"] == coffee for i in coffees)
    cola = one(cashier, "items", "Cola")
    scanned = cashier.get(f"{API}/items", params={"barcode": cola["barcode"]}).json()
    assert names(scanned) == ["Cola"]
    both = cashier.get(f"{API}/items", params={"category_id": coffee, "q": "cola"}).json()
    assert both == []


def test_unknown_ids_are_404(manager: Tablet) -> None:
    missing = uuid7()
    for kind in KINDS:
        assert_problem(manager.get(f"{API}/{kind}/{missing}"), 404, "not-found")
        assert_problem(
            manager.patch(f"{API}/{kind}/{missing}", json={"name": "x"}), 404, "not-found"
        )
        assert_problem(manager.delete(f"{API}/{kind}/{missing}"), 404, "not-found")


# --- writing -----------------------------------------------------------------------------------


def test_a_manager_creates_an_item_with_its_own_id_and_a_retry_is_harmless(
    manager: Tablet,
) -> None:
    bakery = one(manager, "categories", "Bakery")["id"]
    body = {"id": uuid7(), "name": "Scone", "category_id": bakery, "price_minor": 260}
    created = manager.post(f"{API}/items", json=body)
    assert created.status_code == 201
    assert created.json()["id"] == body["id"]
    again = manager.post(f"{API}/items", json=body)
    assert again.status_code == 200 and again.json() == created.json()
    clash = manager.post(f"{API}/items", json={**body, "price_minor": 999})
    assert_problem(clash, 409, "conflict")
    assert manager.get(f"{API}/items/{body['id']}").json()["price_minor"] == 260


def test_patch_changes_only_the_fields_given(manager: Tablet, owner: Tablet) -> None:
    item = new_item(manager, "Flapjack", sku="BAK-FLAP", barcode="5000000000999")
    path = f"{API}/items/{item['id']}"
    # Two people edit different fields of the same item: both edits survive.
    assert manager.patch(path, json={"price_minor": 320}).status_code == 200
    renamed = owner.patch(path, json={"name": "Oat flapjack"})
    assert renamed.status_code == 200
    assert renamed.json() == {**item, "name": "Oat flapjack", "price_minor": 320}
    assert manager.get(path).json() == renamed.json()
    cleared = manager.patch(path, json={"barcode": None})
    assert cleared.json()["barcode"] is None and cleared.json()["sku"] == "BAK-FLAP"


def test_archiving_hides_an_item_from_tablets_but_keeps_it(manager: Tablet) -> None:
    item = new_item(manager, "Day-old bun")
    path = f"{API}/items/{item['id']}"
    assert manager.delete(path).status_code == 204
    assert manager.delete(path).status_code == 204  # archiving twice is harmless
    assert item["id"] not in {i["id"] for i in manager.get(API).json()["items"]}
    assert "Day-old bun" not in names(manager.get(f"{API}/items", params={"q": "day"}).json())
    everything = manager.get(API, params={"include_archived": "true"}).json()
    assert item["id"] in {i["id"] for i in everything["items"]}
    assert manager.get(path).json()["archived"] is True
    restored = manager.patch(path, json={"archived": False})
    assert restored.json()["archived"] is False
    assert item["id"] in {i["id"] for i in manager.get(API).json()["items"]}


def test_an_archived_category_cannot_take_new_items(manager: Tablet) -> None:
    made = manager.post(f"{API}/categories", json={"name": "Seasonal", "sort": 9})
    assert made.status_code == 201
    category = made.json()
    assert manager.delete(f"{API}/categories/{category['id']}").status_code == 204
    assert "Seasonal" not in names(manager.get(API).json()["categories"])
    response = manager.post(
        f"{API}/items", json={"name": "Mince pie", "category_id": category["id"], "price_minor": 1}
    )
    body = assert_problem(response, 422, "invalid-input")
    assert body["value"] == category["id"]


@pytest.mark.parametrize("field", ["category_id", "modifier_group_ids", "tax_rate_ids"])
def test_references_to_missing_entities_are_refused_by_id(manager: Tablet, field: str) -> None:
    before = snapshot(manager)
    bad_id = uuid7()
    bakery = one(manager, "categories", "Bakery")["id"]
    body: dict[str, Any] = {"name": "Ghost", "category_id": bakery, "price_minor": 100}
    body[field] = bad_id if field == "category_id" else [bad_id]
    problem = assert_problem(manager.post(f"{API}/items", json=body), 422, "invalid-input")
    assert problem["field"] == field and problem["value"] == bad_id
    assert bad_id in str(problem["detail"])
    latte = one(manager, "items", "Latte")
    patch = {field: body[field]}
    assert_problem(manager.patch(f"{API}/items/{latte['id']}", json=patch), 422, "invalid-input")
    assert snapshot(manager) == before


@pytest.mark.parametrize(
    ("kind", "body", "status"),
    [
        ("items", {"price_minor": -1}, 422),
        ("items", {"price_minor": 10**13}, 400),
        ("items", {"price_minor": 3.5}, 400),
        ("items", {"variants": [{"name": "Big", "price_minor": -5}]}, 422),
        (
            "items",
            {"variants": [{"name": "A", "price_minor": 1}, {"name": "A", "price_minor": 2}]},
            422,
        ),
        ("items", {"name": ""}, 400),
        ("items", {"colour": "red"}, 400),
        ("items", {"category_id": "not-a-uuid"}, 400),
        ("tax-rates", {"rate": "1.5"}, 422),
        ("tax-rates", {"rate": "twenty"}, 422),
        ("tax-rates", {"rate": "NaN"}, 422),
        ("tax-rates", {"rate": 0.2}, 400),
        ("modifier-groups", {"min_select": 2, "max_select": 1}, 422),
        ("modifier-groups", {"min_select": 3}, 422),
        ("modifier-groups", {"max_select": 0}, 400),
        ("discounts", {"percent": "0"}, 422),
        ("discounts", {"percent": "150"}, 422),
        ("discounts", {"amount_minor": 100}, 422),
        ("discounts", {"kind": "amount"}, 422),
        ("discounts", {"kind": "bogus"}, 400),
        ("discounts", {"window": {"start": "25:00", "end": "26:00"}}, 422),
        ("discounts", {"window": {"weekdays": [7], "start": "09:00", "end": "10:00"}}, 400),
        ("discounts", {"scope": "order", "category_ids": []}, 422),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    manager: Tablet, kind: str, body: dict[str, Any], status: int
) -> None:
    target = {
        "items": "Latte",
        "tax-rates": "VAT 20%",
        "modifier-groups": "Milk",
        "discounts": "Happy hour",
    }[kind]
    before = snapshot(manager)
    entity = one(manager, kind, target)
    response = manager.patch(f"{API}/{kind}/{entity['id']}", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["detail"]
    assert snapshot(manager) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "No kind", "scope": "order", "percent": "5"},
        {"name": "Both", "kind": "percent", "scope": "order", "percent": "5", "amount_minor": 5},
        {
            "name": "Order window",
            "kind": "amount",
            "scope": "order",
            "amount_minor": 50,
            "window": {"start": "09:00", "end": "10:00"},
        },
        {
            "name": "Ghost",
            "kind": "percent",
            "scope": "item",
            "percent": "5",
            "item_ids": ["01a218d4-5cc5-73f7-afd0-c7f520f4ee1e"],
        },
    ],
)
def test_inconsistent_discounts_are_refused(manager: Tablet, body: dict[str, Any]) -> None:
    before = snapshot(manager)
    response = manager.post(f"{API}/discounts", json=body)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM)
    assert snapshot(manager) == before


def test_rates_and_percents_are_stored_as_plain_decimals(manager: Tablet) -> None:
    rate = manager.post(f"{API}/tax-rates", json={"name": "Reduced", "rate": "5E-2"})
    assert rate.status_code == 201 and rate.json()["rate"] == "0.05"
    discount = manager.post(
        f"{API}/discounts",
        json={"name": "Loyal", "kind": "percent", "scope": "order", "percent": "1E+1"},
    )
    assert discount.status_code == 201 and discount.json()["percent"] == "10"


def test_a_modifier_group_keeps_option_ids_across_edits(manager: Tablet) -> None:
    created = manager.post(
        f"{API}/modifier-groups",
        json={
            "name": "Syrup",
            "max_select": 2,
            "options": [{"name": "Vanilla", "price_delta_minor": 50}, {"name": "Caramel"}],
        },
    )
    assert created.status_code == 201
    group = created.json()
    ids = {o["name"]: o["id"] for o in group["options"]}
    patched = manager.patch(
        f"{API}/modifier-groups/{group['id']}",
        json={"options": [{"name": "Caramel", "price_delta_minor": 60}, {"name": "Hazelnut"}]},
    ).json()
    assert patched["options"][0] == {
        "id": ids["Caramel"],
        "name": "Caramel",
        "price_delta_minor": 60,
    }
    assert patched["options"][1]["id"] not in ids.values()
    assert patched["max_select"] == 2 and patched["name"] == "Syrup"


def test_the_next_order_is_priced_from_the_catalog_as_just_edited(manager: Tablet) -> None:
    rate = manager.post(f"{API}/tax-rates", json={"name": "Bun tax", "rate": "0.1"}).json()
    syrup = manager.post(
        f"{API}/modifier-groups",
        json={"name": "Glaze", "options": [{"name": "Honey", "price_delta_minor": 20}]},
    ).json()
    bun = new_item(manager, "Memo bun", tax_rate_ids=[rate["id"]], modifier_group_ids=[syrup["id"]])
    honey = syrup["options"][0]["id"]

    def ring() -> dict[str, Any]:
        lines = [{"item_id": bun["id"], "quantity": 2, "option_ids": [honey]}]
        response = manager.post("/api/v1/orders", json={"lines": lines})
        assert response.status_code == 201, response.text
        line: dict[str, Any] = response.json()["lines"][0]
        return line

    first = ring()
    assert ring()["unit_price_minor"] == first["unit_price_minor"] == 320
    # Each edit reaches the very next order: nothing priced before it is reused.
    assert manager.patch(f"{API}/items/{bun['id']}", json={"price_minor": 350}).status_code == 200
    assert ring()["unit_price_minor"] == 370
    options = [{"id": honey, "name": "Honey", "price_delta_minor": 45}]
    glazed = manager.patch(f"{API}/modifier-groups/{syrup['id']}", json={"options": options})
    assert glazed.status_code == 200
    assert ring()["unit_price_minor"] == 395
    assert manager.patch(f"{API}/tax-rates/{rate['id']}", json={"rate": "0.2"}).status_code == 200
    assert [t["rate"] for t in ring()["taxes"]] == ["0.2"]
    assert first["taxes"][0]["rate"] == "0.1" and first["id"] != ring()["id"]


def test_an_item_with_variants_groups_and_its_own_tax(manager: Tablet) -> None:
    size = one(manager, "modifier-groups", "Size")["id"]
    zero = one(manager, "tax-rates", "VAT 0%")["id"]
    item = new_item(
        manager,
        "Smoothie",
        variants=[{"name": "Small", "price_minor": 350}, {"name": "Large", "price_minor": 450}],
        modifier_group_ids=[size],
        tax_rate_ids=[zero],
    )
    assert [v["name"] for v in item["variants"]] == ["Small", "Large"]
    assert all(v["id"] for v in item["variants"])
    assert item["modifier_group_ids"] == [size] and item["tax_rate_ids"] == [zero]
    assert "Smoothie" in names(manager.get(f"{API}/items", params={"q": "smoo"}).json())


def test_a_barcode_belongs_to_one_item(manager: Tablet) -> None:
    cola = one(manager, "items", "Cola")
    bakery = one(manager, "categories", "Bakery")["id"]
    response = manager.post(
        f"{API}/items",
        json={
            "name": "Fake cola",
            "category_id": bakery,
            "price_minor": 1,
            "barcode": cola["barcode"],
        },
    )
    assert_problem(response, 409, "conflict")


def test_a_happy_hour_style_discount_is_created(manager: Tablet) -> None:
    tea = one(manager, "categories", "Tea")["id"]
    response = manager.post(
        f"{API}/discounts",
        json={
            "name": "Tea time",
            "kind": "percent",
            "scope": "item",
            "percent": "15",
            "category_ids": [tea],
            "window": {"weekdays": [5, 6, 5], "start": "22:00", "end": "24:00"},
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["window"]["weekdays"] == [5, 6]
    assert "Tea time" in names(manager.get(API).json()["discounts"])


# --- store settings ----------------------------------------------------------------------------


def test_settings_patch_changes_only_the_keys_given(manager: Tablet, cashier: Tablet) -> None:
    before = cashier.get("/api/v1/settings").json()
    response = manager.patch(
        "/api/v1/settings", json={"service_charge_percent": "12.50", "business_day_cutoff": "05:00"}
    )
    assert response.status_code == 200, response.text
    after = cashier.get("/api/v1/settings").json()
    assert after == {**before, "service_charge_percent": "12.50", "business_day_cutoff": "05:00"}
    restored = manager.patch(
        "/api/v1/settings", json={"service_charge_percent": None, "business_day_cutoff": "04:00"}
    )
    assert restored.json() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"timezone": "Mars/Olympus"}, 422),
        ({"timezone": "Europe"}, 422),
        ({"timezone": "../../etc/passwd"}, 422),
        ({"business_day_cutoff": "25:00"}, 422),
        ({"business_day_cutoff": "4am"}, 400),
        ({"currency": "gbp"}, 400),
        ({"currency": "POUNDS"}, 400),
        ({"tax_mode": "vat"}, 400),
        ({"rounding": "up"}, 400),
        ({"discount_approval_percent": "101"}, 422),
        ({"discount_approval_minor": -1}, 422),
        ({"denominations_minor": [0]}, 400),
        ({"colour": "blue"}, 400),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    manager: Tablet, body: dict[str, Any], status: int
) -> None:
    before = manager.get("/api/v1/settings").json()
    response = manager.patch("/api/v1/settings", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert manager.get("/api/v1/settings").json() == before


def test_the_openapi_schema_describes_the_catalog(edge_server: EdgeServer) -> None:
    schema = httpx.get(f"{edge_server.url}/schema/openapi.json").json()
    for kind in KINDS:
        assert {"get", "post"} <= set(schema["paths"][f"{API}/{kind}"])
        assert {"get", "patch", "delete"} <= set(schema["paths"][f"{API}/{kind}/{{entity_id}}"])
    patch = schema["paths"][f"{API}/items/{{entity_id}}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ItemPatch"
    )
    assert "patch" in schema["paths"]["/api/v1/settings"]
