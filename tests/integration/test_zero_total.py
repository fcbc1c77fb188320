"""Zero-total orders: nothing to pay, so the cashier closes them, and the day can close."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.catalog import Menu, read_menu
from tests.support.orders import ORDERS, audit_of, fetch, ring
from tests.support.problems import assert_problem
from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    Tablet,
    employee_id,
    pair_tablet,
    running_edge,
)

STAFF_MEAL = {"name": "Staff meal 100%", "kind": "percent", "percent": "100"}


def staff_meal(cashier: Tablet, menu: Menu) -> dict[str, Any]:
    """A Large Oat Latte and a Croissant (710), discounted 100 % by the cashier on a manager PIN."""
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    response = cashier.post(
        f"{ORDERS}/{order['id']}/discounts", json={**STAFF_MEAL, "manager_pin": MANAGER_PIN}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_fully_discounted_order_stays_open_and_takes_more_lines(
    cashier: Tablet, menu: Menu
) -> None:
    order = staff_meal(cashier, menu)
    assert order["state"] == "open"
    assert (order["totals"]["total_minor"], order["totals"]["balance_minor"]) == (0, 0)
    more = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [menu.line("Espresso")]})
    assert more.status_code == 200, more.text
    assert (more.json()["state"], more.json()["totals"]["total_minor"]) == ("open", 0)


@pytest.mark.parametrize("send", [False, True], ids=["open", "sent"])
def test_a_zero_total_order_is_closed_by_the_cashier_without_a_payment(
    cashier: Tablet, manager: Tablet, menu: Menu, send: bool
) -> None:
    order = staff_meal(cashier, menu)
    if send:
        sent = cashier.post(f"{ORDERS}/{order['id']}/send")
        assert (sent.status_code, sent.json()["state"]) == (200, "sent"), sent.text
    closed = cashier.post(f"{ORDERS}/{order['id']}/close")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["state"] == "closed"
    assert body["closed_at_ms"] is not None
    assert body["totals"]["discount_minor"] == body["totals"]["subtotal_minor"] == 710
    assert body["discounts"][0]["approved_by"] == employee_id(manager)
    assert fetch(cashier, order["id"])["payments"] == []
    entry = next(e for e in audit_of(manager, order["id"]) if e["action"] == "order.closed")
    assert entry["actor_id"] == employee_id(cashier)
    # A retried close returns the closed order and writes nothing more.
    again = cashier.post(f"{ORDERS}/{order['id']}/close")
    assert (again.status_code, again.json()) == (200, body)


def test_an_order_of_free_items_is_closed_without_a_payment(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    drinks = next(c["id"] for c in menu.catalog["categories"] if c["name"] == "Cold drinks")
    water = {"name": "Tap water", "category_id": drinks, "price_minor": 0}
    created = manager.post("/api/v1/catalog/items", json=water)
    assert created.status_code == 201, created.text
    order = ring(cashier, [{"item_id": created.json()["id"], "quantity": 2}])
    assert (order["state"], order["totals"]["total_minor"]) == ("open", 0)
    closed = cashier.post(f"{ORDERS}/{order['id']}/close")
    assert (closed.status_code, closed.json()["state"]) == (200, "closed"), closed.text


def test_an_order_that_owes_money_cannot_be_closed(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    response = cashier.post(f"{ORDERS}/{order['id']}/close")
    body = assert_problem(response, 409, "illegal-transition")
    assert "balance of 280" in str(body["detail"])
    assert fetch(cashier, order["id"])["state"] == "open"


def test_an_empty_order_cannot_be_closed(cashier: Tablet) -> None:
    order = ring(cashier, [])
    assert_problem(cashier.post(f"{ORDERS}/{order['id']}/close"), 409, "illegal-transition")
    assert fetch(cashier, order["id"])["state"] == "open"


def test_a_zero_total_order_takes_no_payment_so_closing_is_the_way(
    cashier: Tablet, menu: Menu
) -> None:
    order = staff_meal(cashier, menu)
    url = f"{ORDERS}/{order['id']}/payments"
    assert_problem(
        cashier.post(url, json={"tender": "card", "amount_minor": 0}), 400, "bad-request"
    )
    body = assert_problem(
        cashier.post(url, json={"tender": "card", "amount_minor": 1}), 409, "conflict"
    )
    assert "nothing left to pay" in str(body["detail"])
    assert fetch(cashier, order["id"])["payments"] == []


# --- the day closes -------------------------------------------------------------------------------


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[tuple[Tablet, Tablet]]:
    """A demo store of its own (the Z report seals its day): a manager and a cashier tablet."""
    with running_edge(tmp_path / "data") as server:
        manager = pair_tablet(server, "office")
        manager.login(MANAGER_PIN)
        cashier = pair_tablet(server, "till 1")
        cashier.login(CASHIER_PIN)
        yield manager, cashier


def test_a_closed_staff_meal_lets_the_z_report_close_the_day(
    fresh_store: tuple[Tablet, Tablet],
) -> None:
    manager, cashier = fresh_store
    order = staff_meal(cashier, read_menu(cashier))
    refused = assert_problem(manager.post("/api/v1/reports/z"), 409, "conflict")
    assert refused["open_order_ids"] == [order["id"]]

    closed = cashier.post(f"{ORDERS}/{order['id']}/close")
    assert closed.status_code == 200, closed.text
    z = manager.post("/api/v1/reports/z")
    assert z.status_code == 201, z.text
    report = z.json()["report"]
    assert report["orders_by_state"]["closed"] == 1
    assert report["open_orders"] == 0
    # The meal counts as sold and fully discounted: the comp shows, no money moved.
    assert (report["gross_sales_minor"], report["discount_minor"]) == (710, 710)
    assert (report["total_minor"], report["net_sales_minor"]) == (0, 0)
