"""The employees API: staff records without secrets, unique PINs, roles, deactivation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.ids import uuid7
from tests.support.answers import expect_json
from tests.support.problems import PROBLEM, assert_problem
from tests.support.server import EdgeServer, Tablet, pair_tablet, running_edge

API = "/api/v1/employees"
SECRETS = {"pin", "pin_hash", "pin_tag", "password", "password_hash"}


def pin_login(server: EdgeServer, pin: str) -> httpx.Response:
    """A PIN login on a fresh tablet (so wrong PINs never lock out another test's tablet)."""
    tablet = pair_tablet(server, "login check")
    return tablet.http.post(
        "/api/v1/auth/pin", json={"pin": pin}, headers={"X-Device-Token": tablet.device_token}
    )


def hire(tablet: Tablet, name: str, pin: str, role: str = "server", **more: Any) -> dict[str, Any]:
    return expect_json(tablet.post(API, json={"name": name, "role": role, "pin": pin, **more}), 201)


def test_employees_need_a_token(edge_server: EdgeServer) -> None:
    assert_problem(httpx.get(f"{edge_server.url}{API}"), 401, "unauthorized")
    response = httpx.post(f"{edge_server.url}{API}", json={"name": "x", "role": "server"})
    assert_problem(response, 401, "unauthorized")


def test_a_cashier_can_neither_read_nor_write_staff(cashier: Tablet) -> None:
    assert_problem(cashier.get(API), 403, "permission-denied")
    refused = cashier.post(API, json={"name": "Mallory", "role": "owner", "pin": "9090"})
    assert assert_problem(refused, 403, "permission-denied")["permission"] == "employee.write"


def test_the_staff_list_never_shows_secrets(manager: Tablet) -> None:
    staff = manager.get(API).json()
    assert {"Owner", "Manager", "Cashier", "Server", "Kitchen"} <= {e["name"] for e in staff}
    for employee in staff:
        assert not SECRETS & set(employee)
    owner = next(e for e in staff if e["name"] == "Owner")
    assert owner["has_password"] is True and owner["email"] == "owner@demo.fynlo.test"
    one = manager.get(f"{API}/{owner['id']}").json()
    assert one == owner


def test_a_new_employee_logs_in_with_their_pin(manager: Tablet, edge_server: EdgeServer) -> None:
    employee_id = uuid7()
    made = hire(manager, "Sam", "60616", id=employee_id)
    assert made["id"] == employee_id and made["role"] == "server" and made["active"]
    assert not SECRETS & set(made)
    login = pin_login(edge_server, "60616")
    assert login.status_code == 200 and login.json()["employee_id"] == employee_id


def test_a_pin_in_use_is_refused_without_naming_its_holder(
    manager: Tablet, edge_server: EdgeServer
) -> None:
    before = manager.get(API).json()
    refused = assert_problem(
        manager.post(API, json={"name": "Copycat", "role": "server", "pin": "3333"}),
        409,
        "conflict",
    )
    cashier = next(e for e in before if e["name"] == "Cashier")
    assert "Cashier" not in str(refused) and cashier["id"] not in str(refused)
    assert manager.get(API).json() == before
    alex = hire(manager, "Alex", "70717")
    clash = manager.patch(f"{API}/{alex['id']}", json={"pin": "3333"})
    assert_problem(clash, 409, "conflict")
    assert pin_login(edge_server, "70717").json()["employee_id"] == alex["id"]


def test_patch_changes_only_the_fields_given(manager: Tablet, edge_server: EdgeServer) -> None:
    jo = hire(manager, "Jo", "80818", email="jo@example.test")
    path = f"{API}/{jo['id']}"
    renamed = manager.patch(path, json={"name": "Joanna"}).json()
    assert renamed == {**jo, "name": "Joanna"}
    assert manager.patch(path, json={"pin": "80819"}).json() == renamed
    assert pin_login(edge_server, "80819").json()["employee_id"] == jo["id"]
    assert_problem(pin_login(edge_server, "80818"), 401, "wrong-pin")
    cleared = manager.patch(path, json={"email": None}).json()
    assert cleared["email"] is None and cleared["name"] == "Joanna"


def test_a_deactivated_employee_can_no_longer_log_in(
    manager: Tablet, edge_server: EdgeServer
) -> None:
    kim = hire(manager, "Kim", "90919", role="cashier")
    tablet = pair_tablet(edge_server, "kim's till")
    tokens = tablet.login("90919")
    assert manager.patch(f"{API}/{kim['id']}", json={"active": False}).json()["active"] is False
    assert_problem(pin_login(edge_server, "90919"), 401, "wrong-pin")
    refresh = tablet.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_problem(refresh, 401, "unauthorized")
    assert kim["id"] in {e["id"] for e in manager.get(API, params={"active": "false"}).json()}
    assert kim["id"] not in {e["id"] for e in manager.get(API, params={"active": "true"}).json()}
    # The freed PIN may go to someone else; then Kim cannot come back with it.
    lee = hire(manager, "Lee", "90919")
    assert_problem(manager.patch(f"{API}/{kim['id']}", json={"active": True}), 409, "conflict")
    assert manager.patch(f"{API}/{lee['id']}", json={"pin": "91919"}).status_code == 200
    assert manager.patch(f"{API}/{kim['id']}", json={"active": True}).json()["active"] is True
    assert pin_login(edge_server, "90919").json()["employee_id"] == kim["id"]


def test_nobody_can_deactivate_themselves(manager: Tablet) -> None:
    me = manager.get("/api/v1/auth/me").json()
    response = manager.patch(f"{API}/{me['employee_id']}", json={"active": False})
    assert_problem(response, 409, "conflict")
    assert manager.get(f"{API}/{me['employee_id']}").json()["active"] is True


def test_only_an_owner_creates_or_promotes_owners(manager: Tablet, owner: Tablet) -> None:
    refused = manager.post(API, json={"name": "Boss", "role": "owner", "pin": "40414"})
    assert_problem(refused, 403, "permission-denied")
    pat = hire(manager, "Pat", "40415", role="manager", password="pat-secret-pass")
    assert pat["has_password"] is True
    assert_problem(
        manager.patch(f"{API}/{pat['id']}", json={"role": "owner"}), 403, "permission-denied"
    )
    promoted = owner.patch(f"{API}/{pat['id']}", json={"role": "owner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # A manager cannot change an owner either (PIN, password, role or deactivation).
    assert_problem(
        manager.patch(f"{API}/{pat['id']}", json={"pin": "40416"}), 403, "permission-denied"
    )
    made = owner.post(API, json={"name": "Co-owner", "role": "owner", "pin": "40417"})
    assert made.status_code == 201


def test_a_password_is_only_for_owners_and_managers(manager: Tablet) -> None:
    before = manager.get(API).json()
    response = manager.post(
        API, json={"name": "Till", "role": "cashier", "pin": "50515", "password": "long-enough"}
    )
    assert_problem(response, 422, "invalid-input")
    assert manager.get(API).json() == before


def test_a_demoted_manager_loses_the_back_office_login(
    manager: Tablet, edge_server: EdgeServer
) -> None:
    hire(
        manager,
        "Robin",
        "50516",
        role="manager",
        email="robin@example.test",
        password="robin-password",
    )
    url = f"{edge_server.url}/api/v1/auth/password"
    login = {"email": "robin@example.test", "password": "robin-password"}
    robin = httpx.post(url, json=login).json()
    demoted = manager.patch(f"{API}/{robin['employee_id']}", json={"role": "cashier"}).json()
    assert demoted["role"] == "cashier" and demoted["has_password"] is False
    assert_problem(httpx.post(url, json=login), 401, "login-failed")


def test_the_last_active_owner_cannot_be_removed(tmp_path: Path) -> None:
    with running_edge(tmp_path / "data") as server:
        owner = pair_tablet(server, "owner")
        me = owner.login("1111")["employee_id"]
        demoted = owner.patch(f"{API}/{me}", json={"role": "manager"})
        assert_problem(demoted, 409, "conflict")
        other = hire(owner, "Heir", "12121", role="owner")
        assert owner.patch(f"{API}/{me}", json={"role": "manager"}).status_code == 200
        heir = pair_tablet(server, "heir")
        heir.login("12121")
        assert_problem(
            heir.patch(f"{API}/{other['id']}", json={"role": "manager"}), 409, "conflict"
        )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A", "role": "server", "pin": "12"},
        {"name": "A", "role": "server", "pin": "123456789"},
        {"name": "A", "role": "server", "pin": "abcd"},
        {"name": "A", "role": "server", "pin": 1234},
        {"name": "A", "role": "chef", "pin": "1234"},
        {"name": "", "role": "server", "pin": "1234"},
        {"name": "A", "role": "server"},
        {"name": "A", "role": "server", "pin": "1234", "email": "not-an-email"},
        {"name": "A", "role": "manager", "pin": "1234", "password": "short"},
        {"name": "A", "role": "server", "pin": "1234", "pin_hash": "x"},
        {"name": "A", "role": "server", "pin": "1234", "id": "nope"},
    ],
)
def test_bad_employee_bodies_are_refused_and_change_nothing(
    manager: Tablet, body: dict[str, Any]
) -> None:
    before = manager.get(API).json()
    response = manager.post(API, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert manager.get(API).json() == before


def test_unknown_employees_are_404(manager: Tablet) -> None:
    missing = uuid7()
    assert_problem(manager.get(f"{API}/{missing}"), 404, "not-found")
    assert_problem(manager.patch(f"{API}/{missing}", json={"name": "x"}), 404, "not-found")
