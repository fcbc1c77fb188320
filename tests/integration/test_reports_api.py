"""Day reports: the X report adds up the day so far; the Z report closes and seals the day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from edge.domain.business_day import next_day
from tests.support.answers import expect_json
from tests.support.drawer import SESSIONS, fresh_session
from tests.support.problems import assert_problem
from tests.support.sales import cash_sale, croissant_order
from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    EdgeServer,
    Tablet,
    employee_id,
    logged_in,
    running_edge,
)

X = "/api/v1/reports/x"
Z = "/api/v1/reports/z"


class Store:
    """A fresh demo store of its own, for tests that seal a day."""

    def __init__(self, server: EdgeServer) -> None:
        self.server = server
        self.manager = logged_in(server, MANAGER_PIN, "office")
        self.cashier = logged_in(server, CASHIER_PIN, "till 1")

    def open_day(self) -> str:
        day: str = self.manager.get(X).json()["business_day"]
        return day


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with running_edge(tmp_path / "data") as server:
        yield Store(server)


def x_report(tablet: Tablet, **params: str) -> dict[str, Any]:
    return expect_json(tablet.get(X, params=params))


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at_ms"}


# --- X report -------------------------------------------------------------------------------------


def test_x_report_adds_up_a_cash_sale_and_the_drawer(manager: Tablet, cashier: Tablet) -> None:
    session = fresh_session(manager)  # float 5000
    before = x_report(manager)
    payment = cash_sale(cashier, tendered_minor=500)  # one Croissant, 280, VAT 0%
    manager.post("/api/v1/drawer/paid-in", json={"amount_minor": 1000, "reason": "change"})
    manager.post("/api/v1/drawer/paid-out", json={"amount_minor": 300, "reason": "milk"})
    manager.post("/api/v1/drawer/no-sale", json={})
    after = x_report(manager)

    assert after["kind"] == "x"
    assert after["business_day"] == session["business_day"]
    sold = ("paid", "closed")
    assert sum(after["orders_by_state"][s] - before["orders_by_state"][s] for s in sold) == 1
    for figure, delta in [
        ("gross_sales_minor", 280),
        ("total_minor", 280),
        ("tax_minor", 0),
        ("net_sales_minor", 280),
        ("open_orders", 0),
        ("refunds_minor", 0),
    ]:
        assert after[figure] - before[figure] == delta, figure
    cash_before, cash_after = before["tenders"]["cash"], after["tenders"]["cash"]
    assert cash_after["payment_count"] - cash_before["payment_count"] == 1
    assert cash_after["amount_minor"] - cash_before["amount_minor"] == payment["amount_minor"]
    assert cash_after["net_minor"] - cash_before["net_minor"] == 280
    drawer = next(d for d in after["drawers"] if d["session_id"] == session["id"])
    assert drawer == {
        "session_id": session["id"],
        "drawer_id": "main",
        "state": "open",
        "float_minor": 5000,
        "cash_sales_minor": 280,
        "cash_refunds_minor": 0,
        "paid_in_minor": 1000,
        "paid_out_minor": 300,
        "no_sale_count": 1,
        "expected_minor": 5000 + 280 + 1000 - 300,
        "counted_minor": None,
        "over_short_minor": None,
    }


def test_x_report_changes_nothing(manager: Tablet) -> None:
    first = x_report(manager)
    again = x_report(manager)
    assert without_time(first) == without_time(again)
    assert again["generated_at_ms"] >= first["generated_at_ms"]


def test_x_report_of_a_day_without_trade_is_empty(manager: Tablet) -> None:
    report = x_report(manager, day="2001-01-01")
    assert report["business_day"] == "2001-01-01"
    assert report["drawers"] == []
    assert report["total_minor"] == report["open_orders"] == 0
    assert set(report["orders_by_state"].values()) == {0}
    assert set(report["tenders"]) == {"cash", "card", "external"}


@pytest.mark.parametrize(
    ("day", "status"),
    [("2025-02-30", 422), ("2999-01-01", 422), ("01/02/2025", 400), ("today", 400)],
)
def test_x_report_refuses_a_bad_or_future_day(manager: Tablet, day: str, status: int) -> None:
    # Out of format (YYYY-MM-DD, as documented): 400; no calendar day, or not begun: 422.
    code = "bad-request" if status == 400 else "invalid-input"
    assert_problem(manager.get(X, params={"day": day}), status, code)


# --- Z report -------------------------------------------------------------------------------------


def test_z_is_refused_until_orders_are_settled_and_tills_closed(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    day = store.open_day()
    session = fresh_session(manager)
    order = croissant_order(cashier)

    refused = assert_problem(manager.post(Z, json={}), 409, "conflict")
    assert refused["open_orders"] == [order["number"]]
    assert refused["open_order_ids"] == [order["id"]]
    assert refused["open_sessions"] == [session["id"]]
    assert f"#{order['number']}" in str(refused["detail"])
    assert_problem(manager.get(f"{Z}/{day}"), 404, "not-found")

    paid = cashier.post(
        f"/api/v1/orders/{order['id']}/payments", json={"tender": "cash", "tendered_minor": 300}
    )
    assert paid.status_code == 201, paid.text
    refused = assert_problem(manager.post(Z, json={"day": day}), 409, "conflict")
    assert refused["open_orders"] == []
    assert refused["open_sessions"] == [session["id"]]

    closed = manager.post(f"{SESSIONS}/{session['id']}/close", json={"counts": {"1000": 5}})
    assert closed.status_code == 200, closed.text
    sealed = manager.post(Z, json={"day": day})
    assert sealed.status_code == 201, sealed.text
    assert sealed.json()["report"]["total_minor"] == 280


def test_z_seals_the_day_with_its_report(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    day = store.open_day()
    session = fresh_session(manager, {"1000": 4, "500": 2})
    cash_sale(cashier, tendered_minor=500)
    counts = {"5000": 1, "200": 1, "50": 1, "20": 1, "10": 1}  # 5280: exact
    closed = manager.post(f"{SESSIONS}/{session['id']}/close", json={"counts": counts})
    assert closed.json()["over_short_minor"] == 0
    assert manager.access_token
    ws_url = f"ws://127.0.0.1:{store.server.port}/api/v1/ws?token={manager.access_token}"
    with connect(ws_url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        response = manager.post(Z)  # no body: the day the clock is in
        assert response.status_code == 201, response.text
        while (event := json.loads(ws.recv(timeout=10)))["type"] != "day.closed":
            pass
    assert event["data"] == {"business_day": day, "sealed_by": employee_id(manager)}

    sealed = response.json()
    assert sealed["business_day"] == day
    assert sealed["sealed_by"] == employee_id(manager)
    report = sealed["report"]
    assert report["kind"] == "z"
    assert report["business_day"] == day
    assert (report["total_minor"], report["net_sales_minor"], report["tax_minor"]) == (280, 280, 0)
    assert report["tenders"]["cash"]["amount_minor"] == 280
    assert [
        (d["session_id"], d["counted_minor"], d["over_short_minor"]) for d in report["drawers"]
    ] == [(session["id"], 5280, 0)]
    stored = manager.get(f"{Z}/{day}")
    assert stored.status_code == 200, stored.text
    assert stored.json() == sealed
    audit = manager.get("/api/v1/audit", params={"entity_id": day}).json()
    assert [(a["action"], a["actor_id"]) for a in audit] == [("day.close", employee_id(manager))]


def test_after_z_the_next_sale_lands_on_the_next_business_day(store: Store) -> None:
    manager, cashier = store.manager, store.cashier
    day = store.open_day()
    assert manager.post(Z, json={"day": day}).status_code == 201
    tomorrow = next_day(day)
    assert store.open_day() == tomorrow

    session = fresh_session(manager)
    assert session["business_day"] == tomorrow
    order = croissant_order(cashier)
    assert order["business_day"] == tomorrow
    assert x_report(manager)["open_orders"] == 1
    sealed = manager.get(f"{Z}/{day}").json()["report"]
    assert sealed["orders_by_state"]["open"] == 0
    assert x_report(manager, day=day)["open_orders"] == 0


def test_a_second_z_for_a_sealed_day_is_refused(store: Store) -> None:
    manager = store.manager
    day = store.open_day()
    first = manager.post(Z, json={})
    assert first.status_code == 201, first.text
    assert_problem(manager.post(Z, json={}), 409, "day-sealed")
    assert_problem(manager.post(Z, json={"day": day}), 409, "day-sealed")
    assert manager.get(f"{Z}/{day}").json() == first.json()


BAD_Z: list[tuple[Any, int]] = [
    ({"day": "2999-01-01"}, 422),  # not begun
    ({"day": "2025-02-30"}, 422),
    ({"day": "25-1-1"}, 400),
    ({"day": 20250101}, 400),
    ({"day": "2025-01-01", "force": True}, 400),
]


def test_a_z_for_a_bad_day_is_refused_and_seals_nothing(manager: Tablet) -> None:
    for body, status in BAD_Z:
        response = manager.post(Z, json=body)
        assert response.status_code == status, (body, response.text)
        assert_problem(response, status, "bad-request" if status == 400 else "invalid-input")
    open_day = x_report(manager)["business_day"]
    assert_problem(manager.get(f"{Z}/{open_day}"), 404, "not-found")


def test_a_day_not_closed_has_no_z_report(manager: Tablet) -> None:
    assert_problem(manager.get(f"{Z}/2001-01-01"), 404, "not-found")
    assert_problem(manager.get(f"{Z}/2001-02-30"), 422, "invalid-input")


# --- access ---------------------------------------------------------------------------------------

ROUTES = [("get", X, None), ("post", Z, {}), ("get", f"{Z}/2001-01-01", None)]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_reports_need_a_token(edge_server: EdgeServer, method: str, path: str, body: Any) -> None:
    response = httpx.request(method, f"{edge_server.url}{path}", json=body)
    assert_problem(response, 401, "unauthorized")


def test_a_cashier_may_not_read_or_close_the_day(manager: Tablet, cashier: Tablet) -> None:
    for method, path, body in ROUTES:
        response = cashier.http.request(method, path, json=body, headers=cashier.headers())
        assert response.status_code == 403, (method, path)
        assert_problem(response, 403, "permission-denied")
    open_day = x_report(manager)["business_day"]
    assert_problem(manager.get(f"{Z}/{open_day}"), 404, "not-found")
