"""Discount limits on a real server: the order's total discount is judged, not each discount."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.answers import expect_json
from tests.support.catalog import Menu
from tests.support.orders import ORDERS, audit_of, fetch, ring
from tests.support.problems import assert_problem
from tests.support.server import MANAGER_PIN, Tablet, employee_id

TENTH = {"name": "Regular 10%", "kind": "percent", "percent": "10"}
TWO_POUNDS = {"name": "£2 off", "kind": "amount", "amount_minor": 200}
APPROVAL = "order.discount_large"


def discount(tablet: Tablet, order_id: str, body: dict[str, Any]) -> Any:
    return tablet.post(f"{ORDERS}/{order_id}/discounts", json=body)


def test_eight_tenths_and_three_pounds_off_a_28_pound_order_need_a_manager(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Croissant", 10)])  # 10 x 280: £28, VAT 0 %
    assert order["totals"]["subtotal_minor"] == 2800
    wanted = [TENTH] * 8 + [TWO_POUNDS] * 3
    # 10 % (280) and 19 % (532) are within the cashier's 20 % (560); the third 10 % is not.
    for body in wanted[:2]:
        expect_json(discount(cashier, order["id"], body))
    refused = assert_problem(discount(cashier, order["id"], TENTH), 403, "approval-required")
    assert refused["permission"] == APPROVAL
    assert (refused["discount_minor"], refused["allowed_minor"]) == (759, 560)
    assert "560" in str(refused["detail"])
    assert len(fetch(cashier, order["id"])["discounts"]) == 2  # nothing was written
    # Every discount past the limit needs the manager again; each records who approved it.
    for body in wanted[2:]:
        expect_json(discount(cashier, order["id"], {**body, "manager_pin": MANAGER_PIN}))
    final = fetch(cashier, order["id"])
    assert final["totals"]["total_minor"] == 605
    approvers = [applied["approved_by"] for applied in final["discounts"]]
    assert approvers == [None, None] + [employee_id(manager)] * 9
    applied = [e for e in audit_of(manager, order["id"]) if e["action"] == "order.discount_applied"]
    assert len(applied) == 11
    assert sorted(e["approved_by"] or "" for e in applied) == [""] * 2 + [employee_id(manager)] * 9
    assert {e["actor_id"] for e in applied} == {employee_id(cashier)}


def test_small_amounts_are_capped_by_the_amount_limit_on_their_total(
    cashier: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Full breakfast", 11)])  # 10450: 20 % would be 2090
    four_pounds = {"name": "£4 off", "kind": "amount", "amount_minor": 400}
    expect_json(discount(cashier, order["id"], four_pounds))
    expect_json(discount(cashier, order["id"], four_pounds))
    refused = assert_problem(discount(cashier, order["id"], four_pounds), 403, "approval-required")
    assert refused["allowed_minor"] == 1000


def test_a_discount_on_an_empty_order_needs_a_manager(cashier: Tablet) -> None:
    order = expect_json(cashier.post(ORDERS, json={"lines": []}), 201)
    assert_problem(discount(cashier, order["id"], TENTH), 403, "approval-required")


@pytest.fixture
def half_price_brownies(manager: Tablet, menu: Menu) -> Iterator[dict[str, Any]]:
    """The owner's rule, live all week: brownies at half price (past a cashier's 20 %)."""
    body = {
        "name": "Half-price brownies",
        "kind": "percent",
        "scope": "item",
        "percent": "50",
        "item_ids": [menu.items["Brownie"]["id"]],
        "window": {"start": "00:00", "end": "00:00"},
    }
    rule = expect_json(manager.post("/api/v1/catalog/discounts", json=body), 201)
    yield rule
    expect_json(manager.patch(f"/api/v1/catalog/discounts/{rule['id']}", json={"archived": True}))


def test_an_automatic_rule_never_blocks_a_sale_but_counts_toward_a_manual_discount(
    cashier: Tablet, manager: Tablet, menu: Menu, half_price_brownies: dict[str, Any]
) -> None:
    # The rule alone takes 280 off 840 (33 %): the cashier still rings the sale up and adds to it.
    order = ring(cashier, [menu.line("Brownie", 2), menu.line("Croissant")])
    assert order["totals"]["discount_minor"] == 280
    more = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [menu.line("Brownie")]})
    assert more.status_code == 200, more.text
    assert more.json()["totals"]["discount_minor"] == 420  # of 1120
    # A manual £1 on top is judged on the order's total (520 of 1120, past 224): a manager's.
    pound = {"discount_id": menu.discounts["£1 off"]["id"]}
    assert_problem(discount(cashier, order["id"], pound), 403, "approval-required")
    approved = expect_json(discount(cashier, order["id"], {**pound, "manager_pin": MANAGER_PIN}))
    manual = [d for d in approved["discounts"] if not d["automatic"]]
    assert [d["approved_by"] for d in manual] == [employee_id(manager)]
    assert approved["totals"]["discount_minor"] == 520
