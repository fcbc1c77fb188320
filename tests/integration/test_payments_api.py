"""Taking money on orders: cash with change, split and partial tenders, tips, refunds, voids."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.catalog import Menu
from tests.support.drawer import close_current, detail
from tests.support.orders import ORDERS, all_orders, audit_of, fetch, ring
from tests.support.problems import PROBLEM, assert_problem
from tests.support.server import (
    KITCHEN_PIN,
    MANAGER_PIN,
    EdgeServer,
    Tablet,
    employee_id,
    logged_in,
)


def pay(tablet: Tablet, order_id: str, **body: Any) -> dict[str, Any]:
    response = tablet.post(f"{ORDERS}/{order_id}/payments", json=body)
    assert response.status_code == 201, response.text
    paid: dict[str, Any] = response.json()
    return paid


def refund(tablet: Tablet, order_id: str, **body: Any) -> Any:
    return tablet.post(f"{ORDERS}/{order_id}/refunds", json=body)


def entries_for(manager: Tablet, session_id: str, reference: str) -> list[tuple[str, int]]:
    """(kind, amount) of the till movements that point at a payment or refund."""
    return [
        (entry["kind"], entry["amount_minor"])
        for entry in detail(manager, session_id)["entries"]
        if entry["reference"] == reference
    ]


# --- the café flow -------------------------------------------------------------------------------


def test_a_latte_and_croissant_paid_in_cash_give_change_and_settle_the_order(
    cashier: Tablet, manager: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    assert order["totals"]["total_minor"] == 710
    paid = pay(cashier, order["id"], tender="cash", tendered_minor=2000)
    assert paid["change_minor"] == 1290
    payment = paid["payment"]
    assert (payment["amount_minor"], payment["tendered_minor"]) == (710, 2000)
    assert payment["drawer_session_id"] == till["id"]
    assert payment["taken_by"] == employee_id(cashier)
    assert paid["order"]["state"] == "paid"
    assert paid["order"]["totals"]["paid_minor"] == 710
    assert paid["order"]["totals"]["balance_minor"] == 0
    # The till keeps the sale, not the change.
    assert entries_for(manager, till["id"], payment["id"]) == [("sale", 710)]
    stored = fetch(cashier, order["id"])
    assert [p["id"] for p in stored["payments"]] == [payment["id"]]
    assert stored["totals"] == paid["order"]["totals"]
    closed = cashier.post(f"{ORDERS}/{order['id']}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    assert closed.json()["closed_at_ms"] is not None


def test_a_split_between_card_and_cash_settles_on_the_last_tender(
    cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    card = pay(cashier, order["id"], tender="card", amount_minor=500)
    assert card["order"]["state"] == "open"
    assert card["order"]["totals"]["balance_minor"] == 210
    assert card["change_minor"] == 0
    cash = pay(cashier, order["id"], tender="cash", tendered_minor=300)
    assert cash["payment"]["amount_minor"] == 210
    assert cash["change_minor"] == 90
    assert cash["order"]["state"] == "paid"
    assert [p["tender"] for p in fetch(cashier, order["id"])["payments"]] == ["card", "cash"]


def test_a_partial_payment_keeps_the_order_open(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Bacon roll")])
    sent = cashier.post(f"{ORDERS}/{order['id']}/send")
    assert sent.status_code == 200, sent.text
    part = pay(cashier, order["id"], tender="external", amount_minor=200, reference="AUTH42")
    assert part["payment"]["reference"] == "AUTH42"
    assert part["order"]["state"] == "sent"
    assert part["order"]["totals"]["paid_minor"] == 200
    assert part["order"]["totals"]["balance_minor"] == 250
    assert [o["id"] for o in cashier.get(ORDERS, params={"state": "sent"}).json()].count(
        order["id"]
    ) == 1


def test_tips_are_reported_beside_the_total(
    cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.line("Bacon roll")])
    card = pay(cashier, order["id"], tender="card", amount_minor=200, tip_minor=50)
    assert card["payment"]["tendered_minor"] == 250
    cash = pay(cashier, order["id"], tender="cash", tendered_minor=500, tip_minor=100)
    assert (cash["payment"]["amount_minor"], cash["change_minor"]) == (250, 150)
    totals = cash["order"]["totals"]
    assert (totals["total_minor"], totals["paid_minor"], totals["tip_minor"]) == (450, 450, 150)
    assert cash["order"]["state"] == "paid"


def test_a_card_payment_above_the_balance_is_refused(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    over = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "card", "amount_minor": 281}
    )
    assert_problem(over, 409, "conflict")
    assert fetch(cashier, order["id"])["payments"] == []
    pay(cashier, order["id"], tender="card", amount_minor=280)
    again = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "card", "amount_minor": 1}
    )
    assert_problem(again, 409, "illegal-transition")


def test_an_empty_order_cannot_be_paid(cashier: Tablet) -> None:
    order = ring(cashier, [])
    response = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "card", "amount_minor": 100}
    )
    assert_problem(response, 409, "illegal-transition")


# --- idempotency ---------------------------------------------------------------------------------


def test_a_retried_payment_is_never_charged_twice(
    cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    body = {"id": "01900000-0000-7000-8000-0000000000e1", "tender": "cash", "tendered_minor": 500}
    first = cashier.post(f"{ORDERS}/{order['id']}/payments", json=body)
    assert first.status_code == 201, first.text
    again = cashier.post(f"{ORDERS}/{order['id']}/payments", json=body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    stored = fetch(cashier, order["id"])
    assert len(stored["payments"]) == 1
    assert stored["totals"]["paid_minor"] == 500
    other = ring(cashier, [menu.line("Croissant")])
    reused = cashier.post(f"{ORDERS}/{other['id']}/payments", json=body)
    assert_problem(reused, 409, "conflict")
    assert fetch(cashier, other["id"])["payments"] == []


# --- the till ------------------------------------------------------------------------------------


def test_cash_needs_an_open_till_and_card_does_not(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    close_current(manager)
    order = ring(cashier, [menu.line("Croissant")])
    cash = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "cash", "tendered_minor": 500}
    )
    body = assert_problem(cash, 409, "drawer-closed")
    assert "open the drawer" in str(body["detail"])
    assert fetch(cashier, order["id"])["payments"] == []
    assert pay(cashier, order["id"], tender="card", amount_minor=280)["order"]["state"] == "paid"


# --- bad input and access ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"tender": "cash"}, 422),
        ({"tender": "cash", "tendered_minor": 500, "amount_minor": 280}, 422),
        ({"tender": "card"}, 422),
        ({"tender": "card", "amount_minor": 280, "tendered_minor": 300}, 422),
        ({"tender": "card", "amount_minor": 0}, 400),
        ({"tender": "card", "amount_minor": -5}, 400),
        ({"tender": "card", "amount_minor": 2.5}, 400),
        ({"tender": "card", "amount_minor": "280"}, 400),
        ({"tender": "card", "amount_minor": 10**13}, 400),
        ({"tender": "card", "amount_minor": 100, "tip_minor": -1}, 400),
        ({"tender": "bitcoin", "amount_minor": 280}, 400),
        ({"tender": "card", "amount_minor": 280, "card_number": "4242"}, 400),
        ({"tender": "card", "amount_minor": 280, "id": "42"}, 400),
        ({"tender": "cash", "tendered_minor": 50, "tip_minor": 50}, 422),
    ],
)
def test_bad_payments_get_a_problem_and_change_nothing(
    cashier: Tablet, menu: Menu, till: dict[str, Any], body: dict[str, Any], status: int
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    before = all_orders(cashier)
    response = cashier.post(f"{ORDERS}/{order['id']}/payments", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert all_orders(cashier) == before
    assert fetch(cashier, order["id"])["payments"] == []


def test_the_kitchen_cannot_take_payment(
    edge_server: EdgeServer, cashier: Tablet, menu: Menu
) -> None:
    kitchen = logged_in(edge_server, KITCHEN_PIN, "kitchen screen")
    order = ring(cashier, [menu.line("Croissant")])
    response = kitchen.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "card", "amount_minor": 280}
    )
    assert assert_problem(response, 403, "permission-denied")["permission"] == "payment.take"
    refused = kitchen.post(
        f"{ORDERS}/{order['id']}/refunds", json={"tender": "card", "amount_minor": 1, "reason": "x"}
    )
    assert_problem(refused, 403, "permission-denied")
    assert fetch(cashier, order["id"])["payments"] == []


# --- refunds -------------------------------------------------------------------------------------


def test_a_refund_needs_a_manager_and_lowers_what_was_paid(
    cashier: Tablet, manager: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    payment = pay(cashier, order["id"], tender="cash", tendered_minor=1000)["payment"]
    body = {
        "payment_id": payment["id"],
        "tender": "cash",
        "amount_minor": 430,
        "reason": "latte spilt",
    }
    needs = assert_problem(refund(cashier, order["id"], **body), 403, "approval-required")
    assert needs["permission"] == "payment.refund"
    assert_problem(refund(cashier, order["id"], **body, manager_pin="0000"), 401, "wrong-pin")
    assert fetch(cashier, order["id"])["refunds"] == []
    done = refund(cashier, order["id"], **body, manager_pin=MANAGER_PIN)
    assert done.status_code == 201, done.text
    given = done.json()["refund"]
    assert (given["approved_by"], given["taken_by"]) == (employee_id(manager), employee_id(cashier))
    after = done.json()["order"]
    assert after["state"] == "partially_refunded"
    totals = after["totals"]
    assert (totals["paid_minor"], totals["refunded_minor"], totals["balance_minor"]) == (
        280,
        430,
        0,
    )
    assert entries_for(manager, till["id"], given["id"]) == [("refund", 430)]
    entry = next(e for e in audit_of(manager, order["id"]) if e["action"] == "order.refunded")
    assert entry["approved_by"] == employee_id(manager)
    # No more than the payment still holds may go back.
    over = refund(manager, order["id"], **{**body, "amount_minor": 281})
    assert_problem(over, 409, "conflict")
    assert len(fetch(cashier, order["id"])["refunds"]) == 1


def test_a_retried_refund_gives_money_back_once(manager: Tablet, menu: Menu) -> None:
    order = ring(manager, [menu.line("Bacon roll")])
    pay(manager, order["id"], tender="card", amount_minor=450)
    body = {
        "id": "01900000-0000-7000-8000-0000000000f1",
        "tender": "card",
        "amount_minor": 100,
        "reason": "cold",
    }
    first = refund(manager, order["id"], **body)
    assert first.status_code == 201, first.text
    again = refund(manager, order["id"], **body)
    assert again.status_code == 200, again.text
    assert again.json()["refund"] == first.json()["refund"]
    assert fetch(manager, order["id"])["totals"]["paid_minor"] == 350


def test_an_unpaid_order_cannot_be_refunded(manager: Tablet, menu: Menu) -> None:
    order = ring(manager, [menu.line("Croissant")])
    response = refund(manager, order["id"], tender="card", amount_minor=1, reason="x")
    assert_problem(response, 409, "illegal-transition")


# --- voids after money ---------------------------------------------------------------------------


def test_a_paid_order_is_voided_only_after_its_refunds_and_with_a_manager(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Bacon roll")])
    payment = pay(cashier, order["id"], tender="card", amount_minor=450)["payment"]
    url = f"{ORDERS}/{order['id']}/void"
    held = manager.post(url, json={"reason": "wrong table"})
    assert assert_problem(held, 409, "conflict")["paid_minor"] == 450
    given = refund(
        manager,
        order["id"],
        payment_id=payment["id"],
        tender="card",
        amount_minor=450,
        reason="wrong table",
    )
    assert given.status_code == 201, given.text
    needs = assert_problem(
        cashier.post(url, json={"reason": "wrong table"}), 403, "approval-required"
    )
    assert needs["permission"] == "order.void_paid"
    wrong = cashier.post(url, json={"reason": "wrong table", "manager_pin": "0000"})
    assert_problem(wrong, 401, "wrong-pin")
    assert fetch(cashier, order["id"])["state"] == "refunded"
    voided = cashier.post(url, json={"reason": "wrong table", "manager_pin": MANAGER_PIN})
    assert voided.status_code == 200, voided.text
    assert voided.json()["state"] == "voided"
    entry = next(e for e in audit_of(manager, order["id"]) if e["action"] == "order.voided")
    assert entry["approved_by"] == employee_id(manager)
    assert (entry["actor_id"], entry["device_id"]) == (employee_id(cashier), payment["device_id"])


def test_voiding_a_part_paid_order_gives_the_money_back(
    cashier: Tablet, manager: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")])
    cash = pay(cashier, order["id"], tender="cash", tendered_minor=200)["payment"]
    card = pay(cashier, order["id"], tender="card", amount_minor=300)["payment"]
    url = f"{ORDERS}/{order['id']}/void"
    assert_problem(cashier.post(url, json={"reason": "walked out"}), 403, "approval-required")
    voided = cashier.post(url, json={"reason": "walked out", "manager_pin": MANAGER_PIN})
    assert voided.status_code == 200, voided.text
    assert voided.json()["state"] == "voided"
    assert voided.json()["totals"]["paid_minor"] == 0
    refunds = fetch(cashier, order["id"])["refunds"]
    assert sorted((r["payment_id"], r["tender"], r["amount_minor"]) for r in refunds) == sorted(
        [(cash["id"], "cash", 200), (card["id"], "card", 300)]
    )
    cash_refund = next(r for r in refunds if r["tender"] == "cash")
    assert entries_for(manager, till["id"], cash_refund["id"]) == [("refund", 200)]


def test_a_manager_reopens_a_paid_order_to_add_to_it(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    pay(cashier, order["id"], tender="card", amount_minor=280)
    url = f"{ORDERS}/{order['id']}/reopen"
    needs = assert_problem(cashier.post(url), 403, "approval-required")
    assert needs["permission"] == "order.reopen"
    reopened = cashier.post(url, json={"manager_pin": MANAGER_PIN})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "open"
    added = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [menu.line("Espresso")]})
    assert added.json()["totals"]["balance_minor"] == 220
    assert pay(cashier, order["id"], tender="card", amount_minor=220)["order"]["state"] == "paid"
