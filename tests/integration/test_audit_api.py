"""Every write is audited with who, what, when and from which device."""

from __future__ import annotations

import httpx

from tests.support.server import EdgeServer, Tablet


def test_a_write_leaves_an_audit_entry_naming_actor_and_device(
    edge_server: EdgeServer, manager: Tablet
) -> None:
    me = manager.get("/api/v1/auth/me").json()
    code = manager.post("/api/v1/devices/pairing-codes").json()["code"]
    paired = httpx.post(f"{edge_server.url}/api/v1/devices/pair", json={"code": code, "name": "x"})
    device_id = paired.json()["device_id"]
    assert manager.delete(f"/api/v1/devices/{device_id}").status_code == 204
    entries = manager.get("/api/v1/audit", params={"entity_id": device_id}).json()
    actions = [e["action"] for e in entries]
    assert actions == ["device.revoke", "device.pair"]  # newest first
    revoke = entries[0]
    assert revoke["actor_id"] == me["employee_id"]
    assert revoke["device_id"] == me["device_id"]
    assert revoke["at_ms"] >= entries[1]["at_ms"]


def test_staff_cannot_read_the_audit_trail(cashier: Tablet) -> None:
    assert cashier.get("/api/v1/audit").status_code == 403


def test_audit_filters_are_validated(manager: Tablet) -> None:
    for params in ({"day": "yesterday"}, {"limit": "0"}, {"limit": "x"}):
        response = manager.get("/api/v1/audit", params=params)
        assert response.status_code == 400, params
        assert response.headers["content-type"].startswith("application/problem+json")


def test_issuing_a_pairing_code_is_audited_without_the_code(manager: Tablet) -> None:
    code = manager.post("/api/v1/devices/pairing-codes").json()
    entries = [
        e for e in manager.get("/api/v1/audit").json() if e["action"] == "device.pairing_code"
    ]
    assert entries, "no audit entry for the pairing code"
    newest = entries[0]
    assert newest["detail"] == {"expires_at_ms": code["expires_at_ms"]}
    assert code["code"] not in str(newest)
