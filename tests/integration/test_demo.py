"""The demo café of `fynlo-edge init --demo`: the menu, settings and staff other tests rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import EdgeServer, Tablet, cli, pair_tablet

LOGINS = [
    ("1111", "owner"),
    ("2222", "manager"),
    ("3333", "cashier"),
    ("4444", "server"),
    ("5555", "kitchen"),
]


@pytest.fixture(scope="module")
def catalog(edge_server: EdgeServer) -> dict[str, Any]:
    tablet = pair_tablet(edge_server, "demo reader")
    tablet.login("3333")
    body: dict[str, Any] = tablet.get("/api/v1/catalog").json()
    tablet.close()
    return body


def named(entities: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [e for e in entities if e["name"] == name]
    assert len(matches) == 1, f"{name!r}: {len(matches)} matches"
    return matches[0]


def test_init_demo_prints_every_login(tmp_path: Path) -> None:
    out = cli("init", "--data", str(tmp_path / "data"), "--demo").stdout
    assert "owner    PIN 1111   owner@demo.fynlo.test / demo-owner-pass" in out
    assert "manager  PIN 2222   manager@demo.fynlo.test / demo-manager-pass" in out
    for pin, role in LOGINS[2:]:
        assert f"{role:<8} PIN {pin}" in out


def test_the_demo_store_is_a_london_cafe_selling_vat_inclusive(cashier: Tablet) -> None:
    settings = cashier.get("/api/v1/settings").json()
    assert settings["name"] == "Fynlo Demo Café"
    assert settings["currency"] == "GBP"
    assert settings["timezone"] == "Europe/London"
    assert settings["business_day_cutoff"] == "04:00"
    assert settings["tax_mode"] == "inclusive"
    assert settings["rounding"] == "half_up"


def test_the_menu_has_six_categories_and_about_forty_items(catalog: dict[str, Any]) -> None:
    names = [c["name"] for c in catalog["categories"]]
    assert names == ["Coffee", "Tea", "Cold drinks", "Bakery", "Breakfast", "Lunch"]
    assert 38 <= len(catalog["items"]) <= 45
    by_category = {c["id"]: 0 for c in catalog["categories"]}
    for item in catalog["items"]:
        by_category[item["category_id"]] += 1
    assert all(count >= 5 for count in by_category.values())
    assert {(t["name"], t["rate"]) for t in catalog["tax_rates"]} == {
        ("VAT 20%", "0.20"),
        ("VAT 0%", "0"),
    }


def test_every_reference_in_the_menu_resolves(catalog: dict[str, Any]) -> None:
    groups = {g["id"] for g in catalog["modifier_groups"]}
    taxes = {t["id"] for t in catalog["tax_rates"]}
    for item in catalog["items"]:
        assert set(item["modifier_group_ids"]) <= groups
        assert set(item["tax_rate_ids"] or []) <= taxes
    for category in catalog["categories"]:
        assert len(category["tax_rate_ids"]) == 1 and set(category["tax_rate_ids"]) <= taxes


def test_the_modifier_groups_are_size_milk_and_extra_shot(catalog: dict[str, Any]) -> None:
    def shape(name: str) -> tuple[int, int, list[tuple[str, int]]]:
        group = named(catalog["modifier_groups"], name)
        options = [(o["name"], o["price_delta_minor"]) for o in group["options"]]
        return group["min_select"], group["max_select"], options

    assert shape("Size") == (1, 1, [("Regular", 0), ("Large", 50)])
    assert shape("Milk") == (0, 1, [("Whole", 0), ("Oat", 40), ("Soy", 40)])
    assert shape("Extra shot") == (0, 2, [("Extra shot", 60), ("Decaf", 0)])


def test_the_named_items_match_the_brief(catalog: dict[str, Any]) -> None:
    groups = {g["id"]: g["name"] for g in catalog["modifier_groups"]}
    taxes = {t["id"]: t["name"] for t in catalog["tax_rates"]}

    def item(name: str) -> tuple[int, list[str]]:
        found = named(catalog["items"], name)
        return found["price_minor"], [groups[g] for g in found["modifier_group_ids"]]

    assert item("Latte") == (340, ["Size", "Milk", "Extra shot"])
    assert item("Espresso") == (220, ["Extra shot"])
    assert item("Flat white") == (360, ["Size", "Milk", "Extra shot"])
    assert item("Croissant") == (280, [])
    assert item("Bacon roll") == (450, [])
    croissant = named(catalog["items"], "Croissant")
    assert [taxes[t] for t in croissant["tax_rate_ids"]] == ["VAT 0%"]
    juice = named(catalog["items"], "Orange juice")
    assert juice["price_minor"] == 300
    assert [(v["name"], v["price_minor"]) for v in juice["variants"]] == [
        ("Small", 300),
        ("Large", 420),
    ]


def test_the_discounts_match_the_brief(catalog: dict[str, Any]) -> None:
    cold = named(catalog["categories"], "Cold drinks")["id"]
    happy = named(catalog["discounts"], "Happy hour")
    assert (happy["kind"], happy["scope"], happy["percent"]) == ("percent", "item", "20")
    assert happy["category_ids"] == [cold]
    assert happy["window"] == {"weekdays": [0, 1, 2, 3, 4], "start": "15:00", "end": "17:00"}
    staff = named(catalog["discounts"], "Staff meal")
    assert (staff["kind"], staff["scope"], staff["percent"]) == ("percent", "order", "50")
    pound = named(catalog["discounts"], "£1 off")
    assert (pound["kind"], pound["scope"], pound["amount_minor"]) == ("amount", "order", 100)


@pytest.mark.parametrize(("pin", "role"), LOGINS)
def test_every_demo_pin_logs_in_with_its_role(edge_server: EdgeServer, pin: str, role: str) -> None:
    tablet = pair_tablet(edge_server, f"{role} tablet")
    assert tablet.login(pin)["role"] == role


@pytest.mark.parametrize(
    ("email", "password", "role"),
    [
        ("owner@demo.fynlo.test", "demo-owner-pass", "owner"),
        ("manager@demo.fynlo.test", "demo-manager-pass", "manager"),
    ],
)
def test_owner_and_manager_have_back_office_passwords(
    edge_server: EdgeServer, email: str, password: str, role: str
) -> None:
    response = httpx.post(
        f"{edge_server.url}/api/v1/auth/password", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == role
