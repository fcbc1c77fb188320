"""Repeated order numbers, read from the orders projection on a real store file."""

from __future__ import annotations

from edge.app.exceptions import queries
from edge.store.store import Store
from edge.store.writer import WriteTx
from tests.support.store import DAY, audit, order_at


def put_numbers(store: Store, numbers: list[int]) -> list[str]:
    """Orders of ``DAY`` with these numbers; their ids."""

    def command(tx: WriteTx) -> list[str]:
        orders = [order_at(tx.at_ms + n, number) for n, number in enumerate(numbers)]
        for order in orders:
            tx.put(DAY, "orders", order)
        audit(tx)
        return [order.id for order in orders]

    ids: list[str] = store.writer.call(command)
    return ids


def test_numbers_held_by_two_orders_of_a_day_are_listed_with_both(store: Store) -> None:
    ids = put_numbers(store, [1, 2, 2, 3, 3, 3, 4])
    conn = store.read
    found = queries.duplicate_numbers(conn, None, 100)
    assert [(e.business_day, e.number) for e in found] == [("2026-11-26", 2), ("2026-11-26", 3)]
    assert [o.id for o in found[0].orders] == ids[1:3]  # in the order they were opened
    assert len(found[1].orders) == 3
    assert found[0].orders[0].device_name is None  # "t1" was never paired here
    assert queries.count_duplicate_numbers(conn) == 2
    assert queries.duplicate_numbers(conn, "2026-11-27", 100) == []
    assert len(queries.duplicate_numbers(conn, "2026-11-26", 1)) == 1


def test_a_store_without_repeats_has_no_exception(store: Store) -> None:
    put_numbers(store, [1, 2, 3])
    assert queries.duplicate_numbers(store.read, None, 100) == []
    assert queries.count_duplicate_numbers(store.read) == 0


def test_the_count_reads_the_day_and_number_index_alone(store: Store) -> None:
    sql = f"EXPLAIN QUERY PLAN {queries._GROUPS.format(where='')}"
    plan = " ".join(str(row[-1]) for row in store.read.execute(sql))
    assert "COVERING INDEX orders_day_number" in plan, plan
