"""A client id is an idempotency key: the same request again answers 200 with what the first
made; the same id with a different request is refused with 409 ``idempotency-key-reused`` and
changes nothing (as Stripe refuses a reused key)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.catalog import Menu
from tests.support.orders import ORDERS, all_orders, audit_of, fetch, ring
from tests.support.problems import assert_problem
from tests.support.server import MANAGER_PIN, Tablet

REUSED = "idempotency-key-reused"


def reused(response: Any, entity_id: str) -> None:
    body = assert_problem(response, 409, REUSED)
    assert body["id"] == entity_id, body


def test_an_order_id_sent_again_with_other_lines_is_refused(cashier: Tablet, menu: Menu) -> None:
    order_id = str(uuid.uuid4())
    first = {"id": order_id, "lines": [menu.line("Croissant")], "table": "4"}
    made = ring(cashier, [menu.line("Croissant")], id=order_id, table="4")

    # The same request, with its keys in another order and the id in capitals: a retry.
    again = cashier.post(ORDERS, json={"table": "4", **first, "id": order_id.upper()})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == made["id"]

    before = all_orders(cashier)
    reused(cashier.post(ORDERS, json={**first, "lines": [menu.line("Bacon roll")]}), order_id)
    reused(cashier.post(ORDERS, json={**first, "table": "5"}), order_id)
    assert all_orders(cashier) == before
    assert fetch(cashier, order_id)["table"] == "4"

    # Judged on the request that opened the order, not on the order as it reads now.
    added = cashier.post(f"{ORDERS}/{order_id}/lines", json={"lines": [menu.line("Bacon roll")]})
    assert added.status_code == 200, added.text
    again = cashier.post(ORDERS, json=first)
    assert again.status_code == 200, again.text
    assert len(again.json()["lines"]) == 2


def test_a_payment_id_sent_again_with_another_amount_is_refused(
    cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.line("Croissant"), menu.line("Bacon roll")])
    payments = f"{ORDERS}/{order['id']}/payments"
    payment_id = str(uuid.uuid4())
    card = {"id": payment_id, "tender": "card", "amount_minor": 100}
    assert cashier.post(payments, json=card).status_code == 201
    assert cashier.post(payments, json={**card, "id": payment_id.upper()}).status_code == 200

    before = fetch(cashier, order["id"])
    reused(cashier.post(payments, json={**card, "amount_minor": 150}), payment_id)
    reused(cashier.post(payments, json={**card, "tip_minor": 20}), payment_id)
    cash = {"id": payment_id, "tender": "cash", "tendered_minor": 100}
    reused(cashier.post(payments, json=cash), payment_id)
    assert fetch(cashier, order["id"]) == before


def test_a_payment_taken_with_its_order_replays_as_a_payment(
    cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    payment_id = str(uuid.uuid4())
    cash = {"id": payment_id, "tender": "cash", "tendered_minor": 500}
    order = ring(cashier, [menu.line("Croissant")], id=str(uuid.uuid4()), payments=[cash])
    again = cashier.post(f"{ORDERS}/{order['id']}/payments", json=cash)
    assert again.status_code == 200, again.text
    reused(
        cashier.post(f"{ORDERS}/{order['id']}/payments", json={**cash, "tendered_minor": 1000}),
        payment_id,
    )
    # The order's own create, with a payment of another amount, is another request too.
    changed = {"id": order["id"], "lines": [menu.line("Croissant")], "payments": [cash]}
    assert cashier.post(ORDERS, json=changed).status_code == 200
    changed["payments"] = [{**cash, "tendered_minor": 1000}]
    reused(cashier.post(ORDERS, json=changed), order["id"])


def test_a_refund_id_sent_again_with_another_amount_or_reason_is_refused(
    manager: Tablet, cashier: Tablet, menu: Menu, till: dict[str, Any]
) -> None:
    order = ring(cashier, [menu.line("Croissant"), menu.line("Bacon roll")])
    paid = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "cash", "tendered_minor": 2000}
    )
    assert paid.status_code == 201, paid.text
    refunds = f"{ORDERS}/{order['id']}/refunds"
    refund_id = str(uuid.uuid4())
    body = {"id": refund_id, "tender": "cash", "amount_minor": 100, "reason": "cold"}
    assert manager.post(refunds, json=body).status_code == 201
    # A cashier's retry carries the manager's PIN: it approves the request, it is not part of it.
    again = cashier.post(refunds, json={**body, "manager_pin": MANAGER_PIN})
    assert again.status_code == 200, again.text

    before = fetch(manager, order["id"])
    reused(manager.post(refunds, json={**body, "amount_minor": 50}), refund_id)
    reused(manager.post(refunds, json={**body, "reason": "burnt"}), refund_id)
    assert fetch(manager, order["id"]) == before
    assert [e["action"] for e in audit_of(manager, order["id"])].count("order.refunded") == 1
