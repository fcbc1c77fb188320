"""The main cash drawer through the API: close what is open, open a fresh session, read one."""

from __future__ import annotations

from typing import Any

from tests.support.answers import expect_json
from tests.support.problems import assert_problem
from tests.support.server import Tablet

SESSIONS = "/api/v1/drawer/sessions"
CURRENT = "/api/v1/drawer/sessions/current"


def close_current(manager: Tablet) -> None:
    """Close the open session, if any, counting nothing (tests start from a closed drawer)."""
    current = manager.get(CURRENT)
    if current.status_code == 200:
        closed = manager.post(f"{SESSIONS}/{current.json()['id']}/close", json={"counts": {}})
        assert closed.status_code == 200, closed.text
    else:
        assert_problem(current, 404, "not-found")


def fresh_session(manager: Tablet, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """A newly opened session with the given float (default £50 in £10 notes)."""
    close_current(manager)
    return expect_json(manager.post(SESSIONS, json={"counts": counts or {"1000": 5}}), 201)


def detail(manager: Tablet, session_id: str) -> dict[str, Any]:
    """One session with its entries."""
    return expect_json(manager.get(f"{SESSIONS}/{session_id}"))


def open_till(manager: Tablet) -> dict[str, Any]:
    """The open session of the main drawer, opened with £50 when none is."""
    current = manager.get(CURRENT)
    if current.status_code == 200:
        body: dict[str, Any] = current.json()
        return body
    return expect_json(manager.post(SESSIONS, json={"counts": {"1000": 5}}), 201)
