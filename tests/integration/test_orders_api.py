"""The orders API: ringing up from the catalog, numbering, editing, discounts, sending, voiding."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
from websockets.sync.client import connect

from shared.credentials import JWT_KEY_FILE
from tests.support.catalog import Menu
from tests.support.orders import ORDERS, all_orders, audit_of, fetch, ring
from tests.support.problems import PROBLEM, assert_problem
from tests.support.server import MANAGER_PIN, EdgeServer, Tablet, employee_id

# --- ringing up ----------------------------------------------------------------------------------


def test_a_large_oat_latte_and_a_croissant_are_priced_from_the_catalog(
    cashier: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.latte(), menu.line("Croissant")], table="4", note="to stay")
    latte, croissant = order["lines"]
    assert latte["name"] == "Latte"
    assert latte["unit_price_minor"] == 430
    assert [m["name"] for m in latte["modifiers"]] == ["Large", "Oat"]
    assert [t["rate"] for t in latte["taxes"]] == ["0.20"]
    assert croissant["unit_price_minor"] == 280
    assert [t["rate"] for t in croissant["taxes"]] == ["0"]
    # VAT is inside the prices: 430 / 1.2 leaves 71.67 of tax, rounded half up per line.
    assert order["totals"] == {
        "subtotal_minor": 710,
        "discount_minor": 0,
        "service_minor": 0,
        "tax_minor": 72,
        "total_minor": 710,
        "paid_minor": 0,
        "tip_minor": 0,
        "balance_minor": 710,
        "refunded_minor": 0,
    }
    assert (order["state"], order["tax_mode"], order["currency"]) == ("open", "inclusive", "GBP")
    assert (order["table"], order["note"]) == ("4", "to stay")
    assert order["opened_by"] == employee_id(cashier)
    assert not any(line["sent"] for line in order["lines"])


def test_orders_are_numbered_one_after_another_within_the_business_day(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    first = ring(cashier, [menu.line("Espresso")])
    second = ring(manager, [menu.line("Espresso")])
    assert second["business_day"] == first["business_day"]
    assert second["number"] == first["number"] + 1


def test_a_variant_item_takes_the_variant_price_and_name(cashier: Tablet, menu: Menu) -> None:
    line = {
        "item_id": menu.items["Orange juice"]["id"],
        "quantity": 2,
        "variant_id": menu.variant("Orange juice", "Large"),
    }
    order = ring(cashier, [line])
    assert order["lines"][0]["name"] == "Orange juice (Large)"
    assert order["lines"][0]["unit_price_minor"] == 420
    assert order["totals"]["subtotal_minor"] == 840


def test_a_retried_create_with_the_same_id_returns_the_stored_order(
    cashier: Tablet, menu: Menu
) -> None:
    order_id = "01900000-0000-7000-8000-0000000000a1"
    body = {"id": order_id, "lines": [menu.line("Croissant")]}
    first = cashier.post(ORDERS, json=body)
    assert first.status_code == 201, first.text
    before = all_orders(cashier)
    # The tablet timed out and sends the same order again (a changed body is refused:
    # test_replays.py).
    again = cashier.post(ORDERS, json=body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert all_orders(cashier) == before


def test_an_order_shows_its_payments_and_refunds(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    detail = fetch(cashier, order["id"])
    assert detail["number"] == order["number"]
    assert (detail["payments"], detail["refunds"]) == ([], [])


def test_orders_list_newest_first_and_filter_by_state_and_day(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    listed = all_orders(cashier)
    assert listed[0]["id"] == order["id"]
    open_today = cashier.get(ORDERS, params={"state": "open", "day": order["business_day"]})
    assert order["id"] in [o["id"] for o in open_today.json()]
    paid = cashier.get(ORDERS, params={"state": "paid"}).json()
    assert order["id"] not in [o["id"] for o in paid]
    assert cashier.get(ORDERS, params={"day": "2001-01-01"}).json() == []
    assert len(cashier.get(ORDERS, params={"limit": 1}).json()) == 1
    assert_problem(cashier.get(ORDERS, params={"day": "2001-02-30"}), 422, "invalid-input")
    assert_problem(cashier.get(ORDERS, params={"state": "lost"}), 400, "bad-request")
    assert_problem(cashier.get(ORDERS, params={"limit": 0}), 400, "bad-request")


def test_an_unknown_order_is_404(cashier: Tablet) -> None:
    assert_problem(cashier.get(f"{ORDERS}/01900000-0000-7000-8000-00000000dead"), 404, "not-found")


# --- editing -------------------------------------------------------------------------------------


def test_adding_lines_reprices_and_a_retry_adds_nothing(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    line = {**menu.line("Bacon roll"), "id": "01900000-0000-7000-8000-0000000000b1"}
    added = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [line]})
    assert added.status_code == 200, added.text
    assert added.json()["totals"]["total_minor"] == 280 + 450
    again = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [line]})
    assert again.status_code == 200, again.text
    assert len(again.json()["lines"]) == 2
    # The same line id on another order is a conflict, not a second line.
    other = ring(cashier, [menu.line("Croissant")])
    clash = cashier.post(f"{ORDERS}/{other['id']}/lines", json={"lines": [line]})
    assert_problem(clash, 409, "conflict")


def test_voiding_a_line_takes_it_off_the_total(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant"), menu.line("Bacon roll")])
    line_id = order["lines"][1]["id"]
    voided = cashier.post(f"{ORDERS}/{order['id']}/lines/{line_id}/void", json={"reason": "oops"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["lines"][1]["voided"] is True
    assert voided.json()["totals"]["total_minor"] == 280
    unknown = cashier.post(f"{ORDERS}/{order['id']}/lines/nope/void", json={})
    assert_problem(unknown, 404, "not-found")


def test_a_sent_line_is_voided_by_staff_holding_order_void_and_audited(
    cashier: Tablet, manager: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Croissant"), menu.line("Bacon roll")])
    assert cashier.post(f"{ORDERS}/{order['id']}/send").status_code == 200
    line_id = order["lines"][0]["id"]
    voided = cashier.post(
        f"{ORDERS}/{order['id']}/lines/{line_id}/void", json={"reason": "dropped"}
    )
    assert voided.status_code == 200, voided.text
    entry = next(e for e in audit_of(manager, order["id"]) if e["action"] == "order.line_voided")
    assert entry["actor_id"] == employee_id(cashier)
    assert entry["detail"]["sent"] is True


def test_patching_sets_a_service_charge_table_and_note(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Bacon roll"), menu.line("Croissant")])
    patched = cashier.patch(
        f"{ORDERS}/{order['id']}", json={"service_charge_percent": "12.5", "table": "7"}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    # 12.5 % of 730 = 91.25, rounded half up once on the order.
    assert body["totals"]["service_minor"] == 91
    assert body["totals"]["total_minor"] == 730 + 91
    assert (body["table"], body["note"]) == ("7", None)
    cleared = cashier.patch(f"{ORDERS}/{order['id']}", json={"service_charge_percent": None})
    assert cleared.json()["totals"]["total_minor"] == 730
    assert cleared.json()["table"] == "7"
    before = all_orders(cashier)
    bad = cashier.patch(f"{ORDERS}/{order['id']}", json={"service_charge_percent": "150"})
    assert_problem(bad, 422, "invalid-input")
    assert_problem(cashier.patch(f"{ORDERS}/{order['id']}", json={"tip": 1}), 400, "bad-request")
    assert all_orders(cashier) == before


# --- discounts -----------------------------------------------------------------------------------


def test_a_small_discount_needs_no_manager(cashier: Tablet, menu: Menu) -> None:
    # £1 is within 20 % of 900 (on one roll at 450 it would be 22 %, and need a manager).
    order = ring(cashier, [menu.line("Bacon roll", 2)])
    applied = cashier.post(
        f"{ORDERS}/{order['id']}/discounts", json={"discount_id": menu.discounts["£1 off"]["id"]}
    )
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["totals"]["total_minor"] == 800
    assert body["discounts"][0]["approved_by"] is None
    removed = cashier.delete(f"{ORDERS}/{order['id']}/discounts/{body['discounts'][0]['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["totals"]["total_minor"] == 900
    again = cashier.delete(f"{ORDERS}/{order['id']}/discounts/{body['discounts'][0]['id']}")
    assert_problem(again, 404, "not-found")


def test_a_large_discount_needs_a_manager_pin(cashier: Tablet, manager: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Bacon roll")])
    url = f"{ORDERS}/{order['id']}/discounts"
    staff_meal = {"discount_id": menu.discounts["Staff meal"]["id"]}
    refused = assert_problem(cashier.post(url, json=staff_meal), 403, "approval-required")
    assert refused["permission"] == "order.discount_large"
    assert_problem(cashier.post(url, json={**staff_meal, "manager_pin": "9876"}), 401, "wrong-pin")
    # A cashier's own PIN approves nothing.
    self_approved = cashier.post(url, json={**staff_meal, "manager_pin": "3333"})
    assert_problem(self_approved, 403, "permission-denied")
    assert fetch(cashier, order["id"])["discounts"] == []
    approved = cashier.post(url, json={**staff_meal, "manager_pin": MANAGER_PIN})
    assert approved.status_code == 200, approved.text
    assert approved.json()["totals"]["total_minor"] == 225
    assert approved.json()["discounts"][0]["approved_by"] == employee_id(manager)
    entry = next(
        e for e in audit_of(manager, order["id"]) if e["action"] == "order.discount_applied"
    )
    assert entry["approved_by"] == employee_id(manager)
    assert entry["actor_id"] == employee_id(cashier)


def test_an_ad_hoc_discount_is_checked_like_a_catalog_one(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Bacon roll"), menu.line("Croissant")])
    url = f"{ORDERS}/{order['id']}/discounts"
    line_id = order["lines"][0]["id"]
    ten = cashier.post(
        url, json={"name": "Regular", "kind": "percent", "percent": "10", "line_id": line_id}
    )
    assert ten.status_code == 200, ten.text
    assert ten.json()["totals"]["discount_minor"] == 45
    before = all_orders(cashier)
    for body in (
        {"name": "Half", "kind": "percent", "percent": "50"},  # above 20 %: needs a manager
        {"name": "Off", "kind": "amount", "amount_minor": 2000},  # above £10: needs a manager
    ):
        assert_problem(cashier.post(url, json=body), 403, "approval-required")
    for body in (
        {"name": "x", "kind": "percent"},
        {"name": "x", "kind": "percent", "percent": "10", "amount_minor": 5},
        {"discount_id": "nope"},
        {"discount_id": menu.discounts["£1 off"]["id"], "line_id": line_id},
        {"name": "x", "kind": "amount", "amount_minor": 5, "line_id": "nope"},
    ):
        assert_problem(cashier.post(url, json=body), 422, "invalid-input")
    for body in ({"name": "x", "kind": "gift"}, {"name": "x", "kind": "percent", "percent": 10}):
        assert_problem(cashier.post(url, json=body), 400, "bad-request")
    assert all_orders(cashier) == before


def test_happy_hour_discounts_cold_drinks_only_inside_its_window(
    cashier: Tablet, menu: Menu
) -> None:
    london = ZoneInfo("Europe/London")
    before = datetime.now(london)
    order = ring(cashier, [menu.line("Apple juice"), menu.line("Croissant")])
    after = datetime.now(london)

    def in_window(at: datetime) -> bool:
        return at.weekday() < 5 and 15 <= at.hour < 17

    if in_window(before) != in_window(after):
        pytest.skip("the request straddled the edge of the happy-hour window")
    automatic = [d for d in order["discounts"] if d["automatic"]]
    if in_window(before):
        assert [(d["name"], d["line_id"]) for d in automatic] == [
            ("Happy hour", order["lines"][0]["id"])
        ]
        assert order["totals"]["discount_minor"] == 60
    else:
        assert automatic == []
        assert order["totals"]["discount_minor"] == 0


# --- sending -------------------------------------------------------------------------------------


def test_sending_marks_new_lines_sent_and_tells_the_kitchen(
    edge_server: EdgeServer, cashier: Tablet, kitchen: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.latte()])
    url = f"ws://127.0.0.1:{edge_server.port}/api/v1/ws?token={kitchen.access_token}"
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        sent = cashier.post(f"{ORDERS}/{order['id']}/send")
        assert sent.status_code == 200, sent.text
        while (message := json.loads(ws.recv(timeout=10)))["type"] != "order.sent":
            pass
    assert message["data"]["id"] == order["id"]
    assert message["data"]["state"] == "sent"
    assert all(line["sent"] for line in message["data"]["lines"])
    assert_problem(cashier.post(f"{ORDERS}/{order['id']}/send"), 409, "illegal-transition")
    added = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [menu.line("Croissant")]})
    assert [line["sent"] for line in added.json()["lines"]] == [True, False]
    again = cashier.post(f"{ORDERS}/{order['id']}/send")
    assert [line["sent"] for line in again.json()["lines"]] == [True, True]


def test_an_empty_order_has_nothing_to_send(cashier: Tablet) -> None:
    empty = ring(cashier, [])
    assert empty["totals"]["total_minor"] == 0
    assert_problem(cashier.post(f"{ORDERS}/{empty['id']}/send"), 409, "illegal-transition")


# --- voiding, reopening, closing -----------------------------------------------------------------


def test_staff_void_an_unpaid_order_once(cashier: Tablet, manager: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    url = f"{ORDERS}/{order['id']}/void"
    assert_problem(cashier.post(url, json={}), 400, "bad-request")  # the reason is required
    voided = cashier.post(url, json={"reason": "customer left"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["state"], voided.json()["void_reason"]) == ("voided", "customer left")
    assert cashier.post(url, json={"reason": "again"}).json() == voided.json()
    add = cashier.post(f"{ORDERS}/{order['id']}/lines", json={"lines": [menu.line("Croissant")]})
    assert_problem(add, 409, "illegal-transition")
    entry = next(e for e in audit_of(manager, order["id"]) if e["action"] == "order.voided")
    assert entry["detail"]["reason"] == "customer left"
    assert entry["approved_by"] is None


def test_open_orders_cannot_be_reopened_or_closed(cashier: Tablet, menu: Menu) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    assert_problem(cashier.post(f"{ORDERS}/{order['id']}/close"), 409, "illegal-transition")
    reopen = cashier.post(f"{ORDERS}/{order['id']}/reopen", json={"manager_pin": MANAGER_PIN})
    assert_problem(reopen, 409, "illegal-transition")


# --- access --------------------------------------------------------------------------------------


def test_the_kitchen_reads_orders_but_cannot_ring_them_up(
    kitchen: Tablet, cashier: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    assert fetch(kitchen, order["id"])["id"] == order["id"]
    refused = assert_problem(kitchen.post(ORDERS, json={"lines": []}), 403, "permission-denied")
    assert refused["permission"] == "order.create"
    assert_problem(kitchen.post(f"{ORDERS}/{order['id']}/send"), 403, "permission-denied")
    void = kitchen.post(f"{ORDERS}/{order['id']}/void", json={"reason": "x"})
    assert_problem(void, 403, "permission-denied")


def test_missing_expired_and_garbage_tokens_are_refused(
    edge_server: EdgeServer, cashier: Tablet, menu: Menu
) -> None:
    order = ring(cashier, [menu.line("Croissant")])
    key = (edge_server.data_dir / JWT_KEY_FILE).read_bytes()
    now = int(time.time())
    claims = {
        "sub": employee_id(cashier),
        "role": "cashier",
        "typ": "access",
        "iat": now - 100,
        "exp": now - 10,
    }
    expired = jwt.encode(claims, key, algorithm="HS256")
    before = all_orders(cashier)
    cases = [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer garbage"}, "unauthorized"),
        ({"Authorization": f"Bearer {expired}"}, "token-expired"),
    ]
    for headers, code in cases:
        for method, path in (
            ("GET", ORDERS),
            ("GET", f"{ORDERS}/{order['id']}"),
            ("POST", ORDERS),
            ("POST", f"{ORDERS}/{order['id']}/void"),
        ):
            response = httpx.request(
                method,
                f"{edge_server.url}{path}",
                headers=headers,
                json={"lines": [], "reason": "x"},
            )
            assert_problem(response, 401, code)
    assert all_orders(cashier) == before


# --- bad input -----------------------------------------------------------------------------------


def _bad_bodies(menu: Menu) -> list[tuple[str, Any, int]]:
    croissant, latte = menu.items["Croissant"]["id"], menu.items["Latte"]["id"]
    large = menu.option("Size", "Large")
    return [
        ("negative quantity", {"lines": [{"item_id": croissant, "quantity": -1}]}, 400),
        ("zero quantity", {"lines": [{"item_id": croissant, "quantity": 0}]}, 400),
        ("float quantity", {"lines": [{"item_id": croissant, "quantity": 1.5}]}, 400),
        ("whole float quantity", {"lines": [{"item_id": croissant, "quantity": 2.0}]}, 400),
        ("string quantity", {"lines": [{"item_id": croissant, "quantity": "2"}]}, 400),
        ("bool quantity", {"lines": [{"item_id": croissant, "quantity": True}]}, 400),
        ("huge quantity", {"lines": [{"item_id": croissant, "quantity": 10**20}]}, 400),
        ("unknown item", {"lines": [{"item_id": "no-such-item", "quantity": 1}]}, 422),
        (
            "unknown option",
            {"lines": [{"item_id": latte, "quantity": 1, "option_ids": [large, "no-such-option"]}]},
            422,
        ),
        (
            "option twice",
            {"lines": [{"item_id": latte, "quantity": 1, "option_ids": [large, large]}]},
            422,
        ),
        ("missing Size", {"lines": [{"item_id": latte, "quantity": 1}]}, 422),
        ("variant missing", {"lines": [menu.line("Orange juice")]}, 422),
        (
            "variant on a plain item",
            {"lines": [{**menu.line("Croissant"), "variant_id": large}]},
            422,
        ),
        ("lines not a list", {"lines": "Latte"}, 400),
        ("item id a number", {"lines": [{"item_id": 7, "quantity": 1}]}, 400),
        ("unknown field", {"lines": [], "discount": "all"}, 400),
        ("unknown line field", {"lines": [{**menu.line("Croissant"), "price_minor": 1}]}, 400),
        ("bad order id", {"id": "not-a-uuid", "lines": []}, 400),
        ("bad service charge", {"lines": [], "service_charge_percent": "1e3"}, 400),
        ("service charge over 100", {"lines": [], "service_charge_percent": "101"}, 422),
        (
            "two lines, one id",
            {
                "lines": [
                    {**menu.line("Croissant"), "id": "01900000-0000-7000-8000-0000000000c1"},
                    {**menu.line("Croissant"), "id": "01900000-0000-7000-8000-0000000000c1"},
                ]
            },
            422,
        ),
        ("a list", [], 400),
    ]


def test_bad_order_bodies_get_a_problem_and_change_nothing(cashier: Tablet, menu: Menu) -> None:
    before = all_orders(cashier)
    for name, body, status in _bad_bodies(menu):
        response = cashier.post(ORDERS, json=body)
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), name
    assert all_orders(cashier) == before


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{", 400, "bad-request"),
        (b"", 400, "bad-request"),
        (b'{"lines": [' + b" " * 300_000 + b"]}", 413, "payload-too-large"),
    ],
)
def test_malformed_and_oversize_bodies_are_refused(
    cashier: Tablet, content: bytes, status: int, code: str
) -> None:
    before = all_orders(cashier)
    response = cashier.http.post(
        ORDERS,
        content=content,
        headers={**cashier.headers(), "content-type": "application/json"},
    )
    assert_problem(response, status, code)
    assert all_orders(cashier) == before


def test_every_order_route_is_404_for_an_unknown_order(cashier: Tablet, menu: Menu) -> None:
    missing = f"{ORDERS}/01900000-0000-7000-8000-00000000beef"
    calls = [
        ("POST", "/lines", {"lines": [menu.line("Croissant")]}),
        ("POST", "/lines/x/void", {}),
        ("POST", "/discounts", {"name": "x", "kind": "amount", "amount_minor": 5}),
        ("DELETE", "/discounts/x", None),
        ("PATCH", "", {"table": "1"}),
        ("POST", "/send", None),
        ("POST", "/payments", {"tender": "card", "amount_minor": 100}),
        ("POST", "/void", {"reason": "x"}),
        ("POST", "/reopen", {"manager_pin": MANAGER_PIN}),
        ("POST", "/close", None),
        (
            "POST",
            "/refunds",
            {"tender": "card", "amount_minor": 1, "reason": "x", "manager_pin": MANAGER_PIN},
        ),
    ]
    for method, suffix, body in calls:
        response = cashier.http.request(
            method, missing + suffix, json=body, headers=cashier.headers()
        )
        assert_problem(response, 404, "not-found")
