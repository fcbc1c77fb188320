"""What the appliance tells about itself: liveness to anyone, who it is only behind a login."""

from __future__ import annotations

import httpx

from tests.support.problems import assert_problem
from tests.support.server import EdgeServer, Tablet


def test_health_says_only_that_the_process_is_up(edge_server: EdgeServer) -> None:
    answer = httpx.get(f"{edge_server.url}/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_the_status_names_the_store_to_those_who_manage_devices(
    edge_server: EdgeServer, owner: Tablet, cashier: Tablet
) -> None:
    assert_problem(httpx.get(f"{edge_server.url}/api/v1/status"), 401, "unauthorized")
    assert_problem(cashier.get("/api/v1/status"), 403, "permission-denied")
    status = owner.get("/api/v1/status").json()
    assert status["store_id"] and status["org_id"]
    assert status["schema_version"] > 0 and status["sync"]["enrolled"] is False
