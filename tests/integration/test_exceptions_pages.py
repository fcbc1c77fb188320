"""The reconciliation exceptions are read page by page like every list that grows: the latest day
first, ``limit`` at a time, the next page named in ``X-Next-Cursor`` and ``Link rel=next``."""

from __future__ import annotations

from pathlib import Path

from edge.store.store import Store
from edge.store.writer import WriteTx
from tests.support.problems import assert_problem
from tests.support.server import MANAGER_PIN, EdgeServer, cli, logged_in
from tests.support.store import DAY, audit, order_at

EXCEPTIONS = "/api/v1/exceptions"


def put_repeated_numbers(data_dir: Path, numbers: list[int]) -> None:
    """Orders of ``DAY`` with these numbers, written into the store before it is served (as a
    restored appliance and the relay's copy of its sales would leave them)."""

    def command(tx: WriteTx) -> None:
        for n, number in enumerate(numbers):
            tx.put(DAY, "orders", order_at(tx.at_ms + n, number))
        audit(tx)

    with Store(data_dir) as store:
        store.writer.call(command)


def test_exceptions_page_by_page(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("init", "--data", str(data), "--demo")
    put_repeated_numbers(data, [2, 2, 3, 3, 3, 4, 4, 5])
    server = EdgeServer(data)
    server.start()
    try:
        manager = logged_in(server, MANAGER_PIN, "office")
        whole = manager.get(EXCEPTIONS).json()
        assert [e["number"] for e in whole] == [2, 3, 4]

        first = manager.get(EXCEPTIONS, params={"limit": 2})
        assert [e["number"] for e in first.json()] == [2, 3]
        assert first.headers["x-next-cursor"] in first.links["next"]["url"]
        last = manager.get(first.links["next"]["url"])
        assert last.json() == whole[2:]
        assert "link" not in last.headers and "x-next-cursor" not in last.headers

        cursor = manager.get(EXCEPTIONS, params={"cursor": first.headers["x-next-cursor"]})
        assert cursor.json() == whole[2:]
        bad = manager.get(EXCEPTIONS, params={"cursor": "bm90LWEtY3Vyc29y"})
        assert_problem(bad, 400, "bad-request")
    finally:
        server.stop()
