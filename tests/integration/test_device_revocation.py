"""Revoking a device ends its access at once, on real processes.

A tablet deleted on the appliance loses its refresh token, its access tokens and its live
socket from the next request on. An appliance revoked on the relay by its owner has its pushes
and pulls refused, whatever it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pycrdt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cloud.relay.storage.base import Storage
from edge.app.hub import RESYNC_CLOSE_CODE
from shared.schemas.sync import PulledDoc
from tests.relay.support import RelayServer, SyncClient
from tests.support.answers import expect_json
from tests.support.problems import assert_problem
from tests.support.sales import croissant_order
from tests.support.server import CASHIER_PIN, MANAGER_PIN, EdgeServer, logged_in, ws_url
from tests.support.sync import Org, enroll, owner_client, rows, wait_for


def test_a_deleted_tablet_loses_every_token_and_its_socket(edge_server: EdgeServer) -> None:
    manager = logged_in(edge_server, MANAGER_PIN, "office")
    till = logged_in(edge_server, CASHIER_PIN, "till to retire")
    refresh = {"refresh_token": till.login(CASHIER_PIN)["refresh_token"]}
    expect_json(till.http.post("/api/v1/auth/refresh", json=refresh))  # works while paired
    assert till.access_token is not None
    device_id = expect_json(till.get("/api/v1/auth/me"))["device_id"]
    with connect(ws_url(edge_server, till.access_token)) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        assert manager.delete(f"/api/v1/devices/{device_id}").status_code == 204
        # Its socket is told and closed, then its tokens are refused, all at once.
        assert json.loads(socket.recv(timeout=10))["type"] == "resync"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == RESYNC_CLOSE_CODE
    assert "revoked" in str(
        assert_problem(till.get("/api/v1/auth/me"), 401, "unauthorized")["detail"]
    )
    assert_problem(till.get("/api/v1/orders"), 401, "unauthorized")
    assert_problem(till.http.post("/api/v1/auth/refresh", json=refresh), 401, "unauthorized")
    with pytest.raises(InvalidStatus), connect(ws_url(edge_server, till.access_token)):
        pass  # the socket's handshake is refused too
    # Other tablets carry on.
    assert expect_json(manager.get("/api/v1/auth/me"))["role"] == "manager"


def test_a_revoked_appliance_can_neither_push_nor_pull(relay: RelayServer, tmp_path: Path) -> None:
    org = Org(relay)
    edge, store_id = enroll(org, tmp_path / "a")
    try:
        owner = logged_in(edge, "1111", "owner")
        device_id = rows(edge, "SELECT value FROM meta WHERE key = 'relay_device_id'")[0][0]
        token = (edge.data_dir / "keys" / "relay.token").read_text().strip()
        with owner_client(relay) as dashboard:
            revoked = expect_json(dashboard.delete(f"/api/v1/devices/{device_id}"))
        assert revoked["revoked_at_ms"] is not None
        order = croissant_order(owner)  # a sale after the revocation stays on the appliance
        assert owner.post("/api/v1/sync/now").status_code == 202
        wait_for(
            lambda: "401" in str(owner.get("/api/v1/sync/status").json()["summary"]["last_error"]),
            "the appliance to be refused",
        )
        appliance = SyncClient(relay, token, device_id=device_id)
        try:
            assert_problem(appliance.http.get("/api/v1/sync/docs"), 401, "unauthorized")
            assert_problem(appliance.send("pull", b"\x81\xa4docs\x90"), 401, "unauthorized")
            assert_problem(appliance.send("push", b"\x81\xa4docs\x90"), 401, "unauthorized")
        finally:
            appliance.close()

        day = f"store/{store_id}/day/{order['business_day']}"

        async def stored(storage: Storage) -> PulledDoc:
            return await storage.pull(day, 0, 1000)

        doc = pycrdt.Doc()
        for update in relay.storage(stored).updates:
            doc.apply_update(update.body)
        assert order["id"] not in doc.get("orders", type=pycrdt.Map)
    finally:
        edge.stop()
