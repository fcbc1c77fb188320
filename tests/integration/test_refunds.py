"""Refunds by tender on a real server: each goes back through a tender that paid the order, never
beyond what it still holds; cash comes out of the open till; the order then reads partly refunded
or refunded, owing nothing, in the API and the X report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.answers import expect_json
from tests.support.catalog import Menu, read_menu
from tests.support.drawer import close_current, detail, fresh_session
from tests.support.orders import ORDERS, fetch, ring
from tests.support.problems import assert_problem
from tests.support.server import CASHIER_PIN, MANAGER_PIN, Tablet, logged_in, running_edge

X = "/api/v1/reports/x"


class Store:
    """A demo store of the test's own, so the X report holds only the test's sales."""

    def __init__(self, manager: Tablet, cashier: Tablet) -> None:
        self.manager = manager
        self.cashier = cashier
        self.menu: Menu = read_menu(cashier)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with running_edge(tmp_path / "data") as server:
        yield Store(
            logged_in(server, MANAGER_PIN, "office"), logged_in(server, CASHIER_PIN, "till")
        )


def pay(tablet: Tablet, order_id: str, **body: Any) -> dict[str, Any]:
    return expect_json(tablet.post(f"{ORDERS}/{order_id}/payments", json=body), 201)


def refund(tablet: Tablet, order_id: str, **body: Any) -> Any:
    return tablet.post(f"{ORDERS}/{order_id}/refunds", json={"reason": "cold", **body})


def till_moves(manager: Tablet, session_id: str) -> list[tuple[str, int]]:
    return [(e["kind"], e["amount_minor"]) for e in detail(manager, session_id)["entries"]]


def test_a_split_order_gives_back_through_each_tender_no_more_than_it_paid(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    till = fresh_session(manager)  # float 5000
    order = ring(cashier, [store.menu.latte(), store.menu.line("Croissant")])  # 710
    cash = pay(cashier, order["id"], tender="cash", tendered_minor=500)["payment"]
    card = pay(cashier, order["id"], tender="card", amount_minor=210)["payment"]

    # £3.00 back to a card that paid £2.10: refused, naming what the card still holds.
    too_much = assert_problem(
        refund(manager, order["id"], tender="card", amount_minor=300), 409, "conflict"
    )
    assert too_much["refundable_minor"] == 210
    assert "210" in str(too_much["detail"])
    # Card money does not go back as cash, nor cash beyond what cash paid.
    wrong_way = refund(manager, order["id"], tender="cash", amount_minor=100, payment_id=card["id"])
    assert assert_problem(wrong_way, 409, "conflict")["payment_tender"] == "card"
    assert fetch(manager, order["id"])["refunds"] == []

    to_card = expect_json(refund(manager, order["id"], tender="card", amount_minor=210), 201)
    assert to_card["refund"]["payment_id"] == card["id"]
    assert to_card["order"]["state"] == "partially_refunded"
    over = assert_problem(
        refund(manager, order["id"], tender="cash", amount_minor=501), 409, "conflict"
    )
    assert over["refundable_minor"] == 500
    to_cash = expect_json(refund(manager, order["id"], tender="cash", amount_minor=90), 201)
    assert to_cash["refund"]["payment_id"] == cash["id"]

    after = fetch(manager, order["id"])
    assert after["state"] == "partially_refunded"
    totals = after["totals"]
    assert (totals["paid_minor"], totals["refunded_minor"], totals["balance_minor"]) == (
        410,
        300,
        0,
    )
    # Only the cash refund moved the till.
    assert till_moves(manager, till["id"]) == [("sale", 500), ("refund", 90)]

    report = expect_json(manager.get(X))
    card_net = report["tenders"]["card"]
    assert (card_net["amount_minor"], card_net["refund_minor"], card_net["net_minor"]) == (
        210,
        210,
        0,
    )
    cash_net = report["tenders"]["cash"]
    assert (cash_net["amount_minor"], cash_net["refund_minor"], cash_net["net_minor"]) == (
        500,
        90,
        410,
    )
    assert report["refunds_minor"] == 300
    assert report["orders_by_state"]["partially_refunded"] == 1
    (drawer,) = report["drawers"]
    assert (drawer["cash_refunds_minor"], drawer["expected_minor"]) == (90, 5000 + 500 - 90)


def test_a_fully_refunded_order_reads_refunded_and_owes_nothing(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    order = ring(cashier, [store.menu.line("Croissant")])  # 280, VAT 0 %
    card = pay(cashier, order["id"], tender="card", amount_minor=280, tip_minor=50)["payment"]

    # The tip is the staff's: it is not refunded.
    with_tip = refund(manager, order["id"], tender="card", amount_minor=330, payment_id=card["id"])
    assert assert_problem(with_tip, 409, "conflict")["refundable_minor"] == 280
    part = expect_json(refund(manager, order["id"], tender="card", amount_minor=80), 201)
    assert part["order"]["state"] == "partially_refunded"
    rest = expect_json(refund(manager, order["id"], tender="card", amount_minor=200), 201)
    assert rest["order"]["state"] == "refunded"

    stored = fetch(manager, order["id"])
    assert stored["state"] == "refunded"
    totals = stored["totals"]
    assert (totals["paid_minor"], totals["refunded_minor"], totals["balance_minor"]) == (0, 280, 0)
    assert (totals["total_minor"], totals["tip_minor"]) == (280, 50)
    listed = expect_json(manager.get(ORDERS, params={"state": "refunded"}))
    assert [o["id"] for o in listed] == [order["id"]]
    # Nothing is left to give back, and a refunded order takes no payment.
    assert_problem(
        refund(manager, order["id"], tender="card", amount_minor=1), 409, "illegal-transition"
    )
    taken = cashier.post(
        f"{ORDERS}/{order['id']}/payments", json={"tender": "card", "amount_minor": 1}
    )
    assert_problem(taken, 409, "illegal-transition")

    report = expect_json(manager.get(X))
    assert report["orders_by_state"]["refunded"] == 1
    assert report["open_balance_minor"] == 0
    assert (report["total_minor"], report["refunds_minor"], report["net_sales_minor"]) == (
        280,
        280,
        0,
    )
    assert report["tenders"]["card"]["net_minor"] == 50  # the tip alone stays


def test_a_cash_sale_goes_back_in_cash_from_an_open_till_only(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    first = fresh_session(manager)
    order = ring(cashier, [store.menu.line("Croissant")])
    cash = pay(cashier, order["id"], tender="cash", tendered_minor=500)["payment"]
    close_current(manager)

    # The order was paid in cash: no card refund, and cash needs an open till.
    not_card = assert_problem(
        refund(manager, order["id"], tender="card", amount_minor=100), 409, "conflict"
    )
    assert not_card["refundable_minor"] == 0
    assert_problem(
        refund(manager, order["id"], tender="cash", amount_minor=100), 409, "drawer-closed"
    )
    assert fetch(manager, order["id"])["refunds"] == []

    second = fresh_session(manager)
    given = expect_json(refund(manager, order["id"], tender="cash", amount_minor=100), 201)
    assert given["refund"]["payment_id"] == cash["id"]
    assert given["refund"]["drawer_session_id"] == second["id"]
    assert given["order"]["state"] == "partially_refunded"
    assert till_moves(manager, second["id"]) == [("refund", 100)]
    assert till_moves(manager, first["id"]) == [("sale", 280)]
    current = expect_json(manager.get(X))["drawers"]
    assert [d["expected_minor"] for d in current if d["session_id"] == second["id"]] == [4900]
