"""Lists that grow are read page by page, newest first: nothing skipped or repeated, even when
new entries arrive between pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.orders import ORDERS
from tests.support.problems import assert_problem
from tests.support.sales import croissant_order
from tests.support.server import MANAGER_PIN, EdgeServer, Tablet, logged_in, running_edge


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    with running_edge(tmp_path_factory.mktemp("pages") / "data") as server:
        yield server


def pages(tablet: Tablet, path: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list, following Link rel=next (checked against X-Next-Cursor)."""
    answer = tablet.get(path, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        yield answer.json()
        link = answer.links.get("next")
        if link is None:
            assert "x-next-cursor" not in answer.headers
            return
        assert answer.headers["x-next-cursor"] in link["url"]
        answer = tablet.get(link["url"])


def test_orders_page_by_page_newest_first(edge: EdgeServer) -> None:
    till = logged_in(edge, MANAGER_PIN, "pages")
    made = [croissant_order(till)["id"] for _ in range(5)]
    walk = pages(till, ORDERS, limit=2)
    first = next(walk)
    assert [o["id"] for o in first] == made[::-1][:2]
    croissant_order(till)  # a new sale on top does not shift the pages after the first
    rest = [o["id"] for page in walk for o in page]
    assert [o["id"] for o in first] + rest == made[::-1]
    assert_problem(till.get(ORDERS, params={"cursor": "not-a-cursor"}), 400, "bad-request")


def test_the_audit_trail_page_by_page(edge: EdgeServer) -> None:
    office = logged_in(edge, MANAGER_PIN, "audit pages")
    whole = office.get("/api/v1/audit", params={"limit": 1000}).json()
    paged = [e["id"] for page in pages(office, "/api/v1/audit", limit=3) for e in page]
    assert paged == [e["id"] for e in whole] and len(paged) > 3
