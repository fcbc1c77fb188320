"""Wrong PINs and passwords are limited, against a real ``fynlo-edge serve``.

Every attempt is counted in the store before its secret is checked, so guesses sent at once
cannot slip past the count; a right PIN never wipes the wrong ones before it; approval PINs and
PIN changes count like logins, for the tablet and for the employee trying; a password is limited
per account and client address, with growing waits, so a stranger cannot keep the owner out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.answers import expect_json
from tests.support.problems import assert_problem
from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    OWNER_LOGIN,
    SERVER_PIN,
    EdgeServer,
    Tablet,
    logged_in,
    pair_tablet,
    running_edge,
)

ATTEMPTS = 5  # FYNLO_PIN_ATTEMPTS' default
NO_ORDER = "01890000-0000-7000-8000-000000000000"  # an approval PIN is checked before the order


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    with running_edge(tmp_path_factory.mktemp("limits") / "data") as server:
        yield server


def pin(tablet: Tablet, value: str) -> httpx.Response:
    return tablet.http.post(
        "/api/v1/auth/pin", json={"pin": value}, headers={"X-Device-Token": tablet.device_token}
    )


def locked(response: httpx.Response) -> int:
    """The Retry-After of a lockout answer."""
    assert_problem(response, 429, "locked-out")
    return int(response.headers["retry-after"])


def test_thirty_wrong_pins_at_once_get_five_guesses(edge: EdgeServer) -> None:
    tablet = pair_tablet(edge, "rushed")
    guesses = [f"90{n:02d}" for n in range(30)]
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda g: pin(tablet, g), guesses))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * ATTEMPTS + [429] * (30 - ATTEMPTS)
    assert all(locked(a) > 0 for a in answers if a.status_code == 429)
    assert locked(pin(tablet, CASHIER_PIN)) > 0  # even the right PIN waits now
    # The count is in the store: a restart forgets nothing.
    edge.restart()
    assert locked(pin(tablet, CASHIER_PIN)) > 0
    assert pair_tablet(edge, "another").login(CASHIER_PIN)["role"] == "cashier"


def test_a_right_pin_does_not_wipe_the_wrong_ones_before_it(edge: EdgeServer) -> None:
    tablet = pair_tablet(edge, "own pin between guesses")
    for guess in ("9101", "9102", "9103", "9104"):
        assert_problem(pin(tablet, guess), 401, "wrong-pin")
    assert expect_json(pin(tablet, SERVER_PIN))["role"] == "server"
    assert_problem(pin(tablet, "9105"), 401, "wrong-pin")  # the fifth guess, not the first
    assert locked(pin(tablet, "9106")) > 0
    assert locked(pin(tablet, SERVER_PIN)) > 0


def test_approval_pins_count_for_the_tablet_and_for_whoever_asks(edge: EdgeServer) -> None:
    cashier = logged_in(edge, CASHIER_PIN, "till with approvals")
    url = f"/api/v1/orders/{NO_ORDER}/reopen"
    for guess in ("9201", "9202", "9203", "9204", "9205"):
        assert_problem(cashier.post(url, json={"manager_pin": guess}), 401, "wrong-pin")
    assert locked(cashier.post(url, json={"manager_pin": MANAGER_PIN})) > 0
    assert locked(pin(cashier, CASHIER_PIN)) > 0  # the tablet is locked for logins too
    # On another tablet the cashier logs in, but still may not try a manager's PIN.
    elsewhere = logged_in(edge, CASHIER_PIN, "second till")
    assert locked(elsewhere.post(url, json={"manager_pin": "9206"})) > 0
    # Nobody else is held up: a manager's approval from another cashier's tablet... is the
    # manager's PIN, checked (the order does not exist).
    other = logged_in(edge, SERVER_PIN, "floor")
    assert_problem(other.post(url, json={"manager_pin": MANAGER_PIN}), 404, "not-found")


def _employees(tablet: Tablet) -> dict[str, Any]:
    return {e["name"]: e for e in expect_json(tablet.get("/api/v1/employees"))}


def test_a_taken_pin_is_no_free_oracle(edge: EdgeServer) -> None:
    manager = logged_in(edge, MANAGER_PIN, "office tablet")
    kitchen = _employees(manager)["Kitchen"]["id"]
    url = f"/api/v1/employees/{kitchen}"
    # Setting a free PIN is no guess, however often.
    for free in ("7101", "7102", "7103", "7104", "7105", "7106"):
        assert expect_json(manager.patch(url, json={"pin": free}))["has_pin"] is True
    expect_json(manager.post("/api/v1/employees", json=_hire("6161")), 201)
    # Each PIN found taken counts as a wrong one: a few tries, then 429.
    for taken in ("1111", "3333", "4444", "2222", "6161"):
        assert_problem(manager.patch(url, json={"pin": taken}), 409, "conflict")
    assert locked(manager.patch(url, json={"pin": "5555"})) > 0
    assert locked(manager.post("/api/v1/employees", json=_hire("9999"))) > 0
    # The same manager on another tablet is still held: the count follows the employee.
    second = logged_in(edge, MANAGER_PIN, "second office")
    assert locked(second.patch(url, json={"pin": "7777"})) > 0
    # Other changes go on.
    assert expect_json(manager.patch(url, json={"name": "Kitchen"}))["name"] == "Kitchen"


def _hire(pin_value: str) -> dict[str, str]:
    return {"name": "Someone", "role": "server", "pin": pin_value}


def _client(edge: EdgeServer, address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any of 127.0.0.0/8 is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=edge.url, transport=transport, timeout=30.0)


def test_a_strangers_wrong_passwords_never_keep_the_owner_out(edge: EdgeServer) -> None:
    wrong = {**OWNER_LOGIN, "password": "not the password"}
    with _client(edge, "127.0.0.2") as stranger, _client(edge, "127.0.0.1") as owner:
        for _ in range(ATTEMPTS):
            assert_problem(stranger.post("/api/v1/auth/password", json=wrong), 401, "login-failed")
        refused = stranger.post("/api/v1/auth/password", json=wrong)
        assert_problem(refused, 429, "locked-out")
        assert int(refused.headers["retry-after"]) >= 1
        assert expect_json(owner.post("/api/v1/auth/password", json=OWNER_LOGIN))["role"] == "owner"


def test_password_waits_grow_and_a_success_does_not_reset_them(edge: EdgeServer) -> None:
    wrong = {**OWNER_LOGIN, "password": "a typo"}
    with _client(edge, "127.0.0.3") as office:

        def login(body: dict[str, str]) -> httpx.Response:
            return office.post("/api/v1/auth/password", json=body)

        for _ in range(ATTEMPTS):
            assert_problem(login(wrong), 401, "login-failed")
        assert login(OWNER_LOGIN).headers["retry-after"] == "1"  # even the right one waits
        time.sleep(1)  # the Retry-After just announced: a known wait, not luck
        assert login(OWNER_LOGIN).status_code == 200
        assert_problem(login(wrong), 401, "login-failed")
        # Six failures now, not one: the next try waits twice as long as the last.
        assert login(wrong).headers["retry-after"] == "2"


def test_a_manager_lifts_a_lockout_and_the_message_says_how(edge: EdgeServer) -> None:
    tablet = pair_tablet(edge, "locked till")
    for guess in ("9301", "9302", "9303", "9304", "9305"):
        assert_problem(pin(tablet, guess), 401, "wrong-pin")
    refused = pin(tablet, CASHIER_PIN)
    assert locked(refused) > 0
    assert "/lockout" in refused.json()["detail"]  # how a manager clears it
    manager = logged_in(edge, MANAGER_PIN, "office till")
    cashier = logged_in(edge, CASHIER_PIN, "cashier's till")
    devices = {d["name"]: d["id"] for d in expect_json(manager.get("/api/v1/devices"))}
    clear = f"/api/v1/devices/{devices['locked till']}/lockout"
    assert_problem(cashier.delete(clear), 403, "permission-denied")  # not for a cashier
    assert manager.delete(clear).status_code == 204
    assert expect_json(pin(tablet, CASHIER_PIN))["role"] == "cashier"
    assert_problem(manager.delete(f"/api/v1/devices/{NO_ORDER}/lockout"), 404, "not-found")
    actions = [e["action"] for e in expect_json(manager.get("/api/v1/audit"))]
    assert "device.unlock" in actions
