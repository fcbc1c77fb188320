"""The body of a successful API answer, after checking its status."""

from __future__ import annotations

from typing import Any

import httpx


def expect_json(response: httpx.Response, status: int = 200) -> Any:
    """``response``'s JSON body, asserting first that it came with ``status``."""
    assert response.status_code == status, response.text
    return response.json()
