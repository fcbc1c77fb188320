"""The tablets' order listings read only the orders they ask for (an index), never every order
the store ever took."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import apsw

from edge.app.orders import queries
from edge.store.store import Store
from tests.support.store import new_order


@contextmanager
def statement_status(conn: apsw.Connection) -> Iterator[list[dict[str, Any]]]:
    """SQLite's counters of each statement run on ``conn`` while the block runs."""
    seen: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        seen.append({"sql": event["sql"], **event["stmt_status"]})

    conn.trace_v2(apsw.SQLITE_TRACE_PROFILE, record)
    try:
        yield seen
    finally:
        conn.trace_v2(0, None)


def run_all(conn: apsw.Connection, calls: list[Callable[[], object]]) -> list[dict[str, Any]]:
    with statement_status(conn) as seen:
        for call in calls:
            call()
    return seen


def test_listing_orders_by_state_or_day_reads_only_those_orders(store: Store) -> None:
    for _ in range(40):
        store.writer.call(new_order)
    conn = store.read
    filters = [("open", None), (None, "2026-11-26"), ("open", "2026-11-26"), ("paid", None)]
    seen = run_all(conn, [lambda f=f: queries.list_orders(conn, *f, 10) for f in filters])
    assert [s["SQLITE_STMTSTATUS_FULLSCAN_STEP"] for s in seen] == [0] * len(filters)
    assert len(queries.list_orders(conn, "open", "2026-11-26", 100)) == 40
    assert queries.list_orders(conn, "paid", None, 100) == []
