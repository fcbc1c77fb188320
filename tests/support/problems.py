"""Assertions on RFC 9457 problem-details answers."""

from __future__ import annotations

import httpx

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["type"] == f"urn:fynlo:problem:{code}"
    assert body["status"] == status
    assert body["detail"]
    return body
