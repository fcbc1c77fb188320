"""Request bodies are decoded strictly everywhere: "2" or 2.0 is no quantity and no amount.

JSON has distinct numbers and strings; a body that sends money or a count as a string or a float
(or a PIN as a number) is refused with a 400 problem and writes nothing. Ids minted by tablets are
taken in either case and kept lowercase, so a retry in another case is still the same request.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.catalog import Menu
from tests.support.drawer import CURRENT, SESSIONS, close_current, detail
from tests.support.orders import ORDERS, all_orders, fetch, ring
from tests.support.problems import assert_problem
from tests.support.server import Tablet

CATALOG = "/api/v1/catalog"
EMPLOYEES = "/api/v1/employees"
SETTINGS = "/api/v1/settings"


def refused(response: Any, key: str) -> None:
    """A 400 problem that names the field it refused."""
    body = assert_problem(response, 400, "bad-request")
    assert body["errors"] == [
        {"key": key, "message": body["errors"][0]["message"], "source": "body"}
    ], body
    assert key in str(body["detail"])


# --- money and quantities must be JSON integers ------------------------------------------------


@pytest.mark.parametrize("quantity", ["2", 2.0])
def test_an_order_quantity_that_is_not_an_integer_is_refused(
    cashier: Tablet, menu: Menu, quantity: object
) -> None:
    before = all_orders(cashier)
    line = {**menu.line("Croissant"), "quantity": quantity}
    refused(cashier.post(ORDERS, json={"lines": [line]}), "lines[0].quantity")
    assert all_orders(cashier) == before


@pytest.mark.parametrize("quantity", ["2", 2.0])
def test_added_lines_with_a_non_integer_quantity_are_refused(
    cashier: Tablet, menu: Menu, quantity: object
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    before = fetch(cashier, order["id"])
    line = {**menu.line("Bacon roll"), "quantity": quantity}
    response = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [line]})
    refused(response, "lines[0].quantity")
    assert fetch(cashier, order["id"]) == before


@pytest.mark.parametrize("tendered", ["2000", 2000.0])
def test_a_cash_tender_that_is_not_an_integer_is_refused(
    cashier: Tablet, menu: Menu, till: dict[str, Any], tendered: object
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    before = fetch(cashier, order["id"])
    body = {"tender": "cash", "tendered_minor": tendered}
    refused(cashier.post(f"{ORDERS}/{order['id']}/payments", json=body), "tendered_minor")
    after = fetch(cashier, order["id"])
    assert after == before
    assert (after["state"], after["payments"]) == ("open", [])


def test_a_card_amount_sent_as_a_float_is_refused(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    before = fetch(cashier, order["id"])
    body = {"tender": "card", "amount_minor": 280.0}
    refused(cashier.post(f"{ORDERS}/{order['id']}/payments", json=body), "amount_minor")
    assert fetch(cashier, order["id"]) == before


def test_drawer_counts_sent_as_strings_open_nothing(manager: Tablet) -> None:
    close_current(manager)
    refused(manager.post(SESSIONS, json={"counts": {"1000": "5"}}), "counts[...]")
    assert_problem(manager.get(CURRENT), 404, "not-found")


@pytest.mark.parametrize("amount", ["500", 500.0])
def test_a_paid_in_that_is_not_an_integer_moves_no_cash(
    manager: Tablet, till: dict[str, Any], amount: object
) -> None:
    before = detail(manager, till["id"])
    body = {"amount_minor": amount, "reason": "float top-up"}
    refused(manager.post("/api/v1/drawer/paid-in", json=body), "amount_minor")
    assert detail(manager, till["id"]) == before


def test_a_catalog_price_sent_as_a_string_is_refused(manager: Tablet) -> None:
    before = manager.get(CATALOG, params={"include_archived": "true"}).json()
    latte = next(item for item in before["items"] if item["name"] == "Latte")
    bakery = next(c for c in before["categories"] if c["name"] == "Bakery")
    created = {"name": "Scone", "category_id": bakery["id"], "price_minor": "340"}
    refused(manager.post(f"{CATALOG}/items", json=created), "price_minor")
    patched = manager.patch(f"{CATALOG}/items/{latte['id']}", json={"price_minor": "340"})
    refused(patched, "price_minor")
    assert manager.get(CATALOG, params={"include_archived": "true"}).json() == before


def test_a_pin_sent_as_a_number_is_refused(manager: Tablet) -> None:
    before = manager.get(EMPLOYEES).json()
    body = {"name": "Numeric Pin", "role": "server", "pin": 1234}
    refused(manager.post(EMPLOYEES, json=body), "pin")
    assert manager.get(EMPLOYEES).json() == before


def test_a_settings_amount_sent_as_a_string_is_refused(owner: Tablet) -> None:
    before = owner.get(SETTINGS).json()
    response = owner.patch(SETTINGS, json={"discount_approval_minor": "500"})
    refused(response, "discount_approval_minor")
    assert owner.get(SETTINGS).json() == before


# --- ids minted by tablets, in either case --------------------------------------------------


def test_an_uppercase_order_id_is_stored_lowercase_and_a_lowercase_retry_replays_it(
    cashier: Tablet, menu: Menu
) -> None:
    order_id = str(uuid.uuid4())
    body = {"lines": [menu.line("Croissant")]}
    created = cashier.post(ORDERS, json={**body, "id": order_id.upper()})
    assert created.status_code == 201, created.text
    assert created.json()["id"] == order_id
    before = all_orders(cashier)
    replayed = cashier.post(ORDERS, json={**body, "id": order_id})
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == created.json()
    assert all_orders(cashier) == before
    assert fetch(cashier, order_id)["id"] == order_id
    # In a path too: the id read off a receipt in capitals is the same order.
    assert fetch(cashier, order_id.upper())["id"] == order_id
    paid = cashier.post(
        f"{ORDERS}/{order_id.upper()}/payments", json={"tender": "cash", "tendered_minor": 500}
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["order_id"] == order_id


def test_an_uppercase_payment_id_retried_in_lowercase_takes_the_money_once(
    cashier: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    payment_id = str(uuid.uuid4())
    url = f"{ORDERS}/{order['id']}/payments"
    first = cashier.post(
        url, json={"tender": "card", "amount_minor": 280, "id": payment_id.upper()}
    )
    assert first.status_code == 201, first.text
    assert first.json()["payment"]["id"] == payment_id
    again = cashier.post(url, json={"tender": "card", "amount_minor": 280, "id": payment_id})
    assert again.status_code == 200, again.text
    assert [p["id"] for p in fetch(cashier, order["id"])["payments"]] == [payment_id]


def test_line_ids_nested_in_a_body_are_stored_lowercase_too(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    line_id = str(uuid.uuid4())
    url = f"{ORDERS}/{order['id']}/lines"
    line = {**menu.line("Bacon roll"), "id": line_id.upper()}
    added = cashier.post(url, json={"lines": [line]})
    assert added.status_code == 200, added.text
    assert line_id in [line["id"] for line in added.json()["lines"]]
    again = cashier.post(url, json={"lines": [{**line, "id": line_id}]})
    assert again.status_code == 200, again.text
    assert len(fetch(cashier, order["id"])["lines"]) == 2


def test_an_id_that_is_not_a_uuid_is_still_refused(cashier: Tablet, menu: Menu) -> None:
    before = all_orders(cashier)
    body = {"lines": [menu.line("Croissant")], "id": "NOT-A-UUID"}
    refused(cashier.post(ORDERS, json=body), "id")
    assert all_orders(cashier) == before


# --- the schema still documents every body ----------------------------------------------------


def test_the_schema_still_documents_request_bodies(cashier: Tablet) -> None:
    schema = cashier.get("/schema/openapi.json").json()
    create = schema["paths"]["/api/v1/orders"]["post"]["requestBody"]
    ref = create["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/OrderCreate")
    line = schema["components"]["schemas"]["LineInput"]["properties"]
    assert line["quantity"]["type"] == "integer"
    paid_in = schema["paths"]["/api/v1/drawer/paid-in"]["post"]["requestBody"]
    assert paid_in["content"]["application/json"]["schema"]["$ref"].endswith("/CashMoveRequest")


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_sent_as_json_is_refused_with_415(manager: Tablet, media: str) -> None:
    close_current(manager)
    body = b'{"counts": {"1000": 5}}'  # valid JSON, but not sent as JSON
    answer = manager.http.post(
        SESSIONS, content=body, headers={**manager.headers(), "Content-Type": media}
    )
    assert_problem(answer, 415, "unsupported-media-type")
    assert_problem(manager.get(CURRENT), 404, "not-found")  # nothing opened
    sent = manager.http.post(
        SESSIONS,
        content=body,
        headers={**manager.headers(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert sent.status_code == 201, sent.text
