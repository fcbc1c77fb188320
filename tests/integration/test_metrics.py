"""/metrics counts every answer by status and route: errors built by exception handlers (401,
404, problems of every kind) and requests that matched no route, not only handlers' successes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import MANAGER_PIN, EdgeServer, logged_in, running_edge


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    with running_edge(tmp_path_factory.mktemp("metrics") / "data") as server:
        yield server


def responses(edge: EdgeServer) -> dict[tuple[str, str], int]:
    text = httpx.get(f"{edge.url}/metrics").text
    found = re.findall(r'fynlo_http_responses_total\{status="(\d+)",route="([^"]*)"\} (\d+)', text)
    return {(status, route): int(n) for status, route, n in found}


def test_errors_are_counted_by_status_and_route(edge: EdgeServer) -> None:
    before = responses(edge)
    assert httpx.get(f"{edge.url}/api/v1/orders").status_code == 401
    assert httpx.get(f"{edge.url}/api/v1/no-such-thing").status_code == 404
    manager = logged_in(edge, MANAGER_PIN, "metrics")
    missing = "01890000-0000-7000-8000-000000000000"
    assert manager.get(f"/api/v1/orders/{missing}").status_code == 404
    assert manager.get("/api/v1/orders").status_code == 200
    after = responses(edge)

    def grew(status: str, route: str) -> int:
        return after.get((status, route), 0) - before.get((status, route), 0)

    assert grew("401", "/api/v1/orders") == 1
    assert grew("404", "unmatched") == 1
    assert grew("404", "/api/v1/orders/{order_id}") == 1
    assert grew("200", "/api/v1/orders") == 1
