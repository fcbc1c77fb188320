"""Pairing, PIN and password logins, tokens, lockout and the API's front door."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from shared.credentials import JWT_KEY_FILE
from tests.support.problems import PROBLEM, assert_problem
from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    OWNER_PIN,
    EdgeServer,
    Tablet,
    cli,
    pair_tablet,
)


def test_health_and_schema_are_public(edge_server: EdgeServer) -> None:
    assert httpx.get(f"{edge_server.url}/health").json()["status"] == "ok"
    schema = httpx.get(f"{edge_server.url}/schema/openapi.json").json()
    assert "/api/v1/auth/pin" in schema["paths"]
    assert "/api/v1/orders" in schema["paths"]


def test_metrics_speak_prometheus(edge_server: EdgeServer) -> None:
    text = httpx.get(f"{edge_server.url}/metrics").text
    assert "# TYPE fynlo_writer_commands_total counter" in text


def test_pairing_code_works_once(edge_server: EdgeServer) -> None:
    code = cli("pairing-code", "--data", str(edge_server.data_dir)).stdout.strip()
    first = httpx.post(f"{edge_server.url}/api/v1/devices/pair", json={"code": code, "name": "a"})
    assert first.status_code == 201
    again = httpx.post(f"{edge_server.url}/api/v1/devices/pair", json={"code": code, "name": "b"})
    assert_problem(again, 403, "pairing-code-invalid")


def test_a_wrong_pairing_code_is_refused(edge_server: EdgeServer) -> None:
    response = httpx.post(
        f"{edge_server.url}/api/v1/devices/pair", json={"code": "0000-0000", "name": "x"}
    )
    assert_problem(response, 403, "pairing-code-invalid")


def test_pin_login_needs_a_paired_device(edge_server: EdgeServer) -> None:
    response = httpx.post(f"{edge_server.url}/api/v1/auth/pin", json={"pin": OWNER_PIN})
    assert_problem(response, 401, "device-not-paired")
    response = httpx.post(
        f"{edge_server.url}/api/v1/auth/pin",
        json={"pin": OWNER_PIN},
        headers={"X-Device-Token": "forged"},
    )
    assert_problem(response, 401, "device-not-paired")


def test_pin_login_returns_tokens_naming_the_employee(edge_server: EdgeServer) -> None:
    tablet = pair_tablet(edge_server)
    body = tablet.login(CASHIER_PIN)
    assert body["role"] == "cashier"
    me = tablet.get("/api/v1/auth/me").json()
    assert me["employee_id"] == body["employee_id"]
    assert me["device_id"]


def test_wrong_pins_lock_the_tablet_out(edge_server: EdgeServer) -> None:
    tablet = pair_tablet(edge_server, "lockout tablet")
    for _ in range(5):
        response = tablet.http.post(
            "/api/v1/auth/pin",
            json={"pin": "9898"},
            headers={"X-Device-Token": tablet.device_token},
        )
        assert_problem(response, 401, "wrong-pin")
    locked = tablet.http.post(
        "/api/v1/auth/pin", json={"pin": OWNER_PIN}, headers={"X-Device-Token": tablet.device_token}
    )
    assert_problem(locked, 429, "locked-out")
    assert int(locked.headers["retry-after"]) > 0
    # Another tablet is not locked out.
    other = pair_tablet(edge_server, "other tablet")
    assert other.login(OWNER_PIN)["role"] == "owner"


def test_password_login_is_for_owners_and_managers(edge_server: EdgeServer) -> None:
    url = f"{edge_server.url}/api/v1/auth/password"
    ok = httpx.post(url, json={"email": "Manager@demo.fynlo.test", "password": "demo-manager-pass"})
    assert ok.status_code == 200 and ok.json()["role"] == "manager"
    wrong = httpx.post(url, json={"email": "manager@demo.fynlo.test", "password": "nope"})
    assert_problem(wrong, 401, "login-failed")


def test_refresh_gives_a_new_access_token(edge_server: EdgeServer) -> None:
    tablet = pair_tablet(edge_server)
    body = tablet.login(MANAGER_PIN)
    response = tablet.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert response.status_code == 200
    assert response.json()["employee_id"] == body["employee_id"]
    # An access token is not a refresh token, and vice versa.
    wrong = tablet.http.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert_problem(wrong, 401, "unauthorized")
    misuse = tablet.http.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}
    )
    assert_problem(misuse, 401, "unauthorized")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer garbage", "Basic abc"])
def test_protected_routes_refuse_missing_or_garbage_tokens(
    edge_server: EdgeServer, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    for path in (
        "/api/v1/auth/me",
        "/api/v1/orders",
        "/api/v1/catalog",
        "/api/v1/employees",
        "/api/v1/devices",
    ):
        response = httpx.get(f"{edge_server.url}{path}", headers=headers)
        assert_problem(response, 401, "unauthorized")


def test_expired_and_foreign_tokens_are_refused(edge_server: EdgeServer) -> None:
    key = (edge_server.data_dir / JWT_KEY_FILE).read_bytes()
    now = int(time.time())
    claims = {"sub": "x", "role": "owner", "typ": "access", "iat": now - 100, "exp": now - 10}
    expired = jwt.encode(claims, key, algorithm="HS256")
    response = httpx.get(
        f"{edge_server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"}
    )
    assert_problem(response, 401, "token-expired")
    foreign = jwt.encode(
        {**claims, "exp": now + 100},
        b"another appliance's signing key, 32+ bytes long",
        algorithm="HS256",
    )
    response = httpx.get(
        f"{edge_server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {foreign}"}
    )
    assert_problem(response, 401, "unauthorized")


def test_a_cashier_cannot_manage_devices(cashier: Tablet) -> None:
    body = assert_problem(cashier.get("/api/v1/devices"), 403, "permission-denied")
    assert body["permission"] == "device.manage"


def test_a_manager_issues_codes_and_revokes_tablets(
    manager: Tablet, edge_server: EdgeServer
) -> None:
    code = manager.post("/api/v1/devices/pairing-codes").json()["code"]
    paired = httpx.post(
        f"{edge_server.url}/api/v1/devices/pair", json={"code": code, "name": "bar"}
    )
    device = paired.json()
    assert any(d["id"] == device["device_id"] for d in manager.get("/api/v1/devices").json())
    assert manager.delete(f"/api/v1/devices/{device['device_id']}").status_code == 204
    tablet = Tablet(edge_server, device["device_token"])
    response = tablet.http.post(
        "/api/v1/auth/pin",
        json={"pin": CASHIER_PIN},
        headers={"X-Device-Token": device["device_token"]},
    )
    assert_problem(response, 401, "device-not-paired")
    assert_problem(manager.delete("/api/v1/devices/nope"), 404, "not-found")


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"pin": 1234}',
        b'{"pin": "12"}',
        b'{"pin": "abcd"}',
        b'{"pin": "1111", "extra": 1}',
        b'"1111"',
    ],
)
def test_malformed_login_bodies_get_a_problem(edge_server: EdgeServer, body: bytes) -> None:
    response = httpx.post(
        f"{edge_server.url}/api/v1/auth/pin",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM)


def test_an_oversize_body_is_refused(edge_server: EdgeServer) -> None:
    response = httpx.post(
        f"{edge_server.url}/api/v1/auth/pin",
        content=b"{" + b" " * 300_000,
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")
