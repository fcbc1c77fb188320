"""Stamped fields: the latest edit wins by time on every replica; losers stay as conflicts."""

from __future__ import annotations

import pytest

from shared.schemas import stamped
from shared.schemas.stamped import Stamp, Stamping


def test_an_edit_made_after_another_wins_even_with_a_clock_behind() -> None:
    cells: dict[str, str] = {}
    stamped.write(cells, "price", 340, Stamping(1_000, "relay", "owner"))
    stamped.write(cells, "price", 360, Stamping(900, "store-a", "manager"))  # its clock is behind
    assert stamped.values(cells) == {"price": 360}
    assert len(cells) == 1  # the cell it saw is gone: no conflict, it came after
    (cell,) = stamped.cells(cells)["price"]
    assert cell.stamp == Stamp(1_000, 1, "store-a") and cell.by == "manager"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_concurrent_edits_resolve_by_time_whatever_order_they_merge_in(
    order: tuple[int, int],
) -> None:
    base: dict[str, str] = {}
    stamped.write(base, "price", 340, Stamping(1_000, "store-a", "e1"))
    edits = []
    for value, at_ms, replica in ((360, 2_000, "relay"), (380, 3_000, "store-a")):
        replica_cells = dict(base)
        stamped.write(replica_cells, "price", value, Stamping(at_ms, replica, replica))
        edits.append(replica_cells)
    # A merge keeps every cell either side added and drops what either side deleted.
    merged = {k: v for k, v in {**edits[order[0]], **edits[order[1]]}.items() if k not in base}
    assert stamped.values(merged) == {"price": 380}
    (conflict,) = stamped.conflicts(merged)
    assert (conflict.value, conflict.replica, conflict.at_ms) == (380, "store-a", 3_000)
    assert (conflict.lost_value, conflict.lost_replica, conflict.lost_at_ms) == (
        360,
        "relay",
        2_000,
    )
    # Writing the field again (having seen both) resolves the conflict.
    stamped.write(merged, "price", 400, Stamping(4_000, "relay", "owner"))
    assert stamped.conflicts(merged) == [] and stamped.values(merged) == {"price": 400}


def test_a_tie_in_time_goes_to_the_replica_id_the_same_everywhere() -> None:
    cells = {
        stamped.cell_key("name", Stamp(5, 0, "a")): '{"v":"from a","by":null}',
        stamped.cell_key("name", Stamp(5, 0, "b")): '{"v":"from b","by":null}',
    }
    assert stamped.values(cells) == {"name": "from b"}


def test_a_key_written_before_stamps_is_the_oldest_cell_of_its_field() -> None:
    cells = {"price": "340", "name": '"Latte"'}
    assert stamped.values(cells) == {"price": 340, "name": "Latte"}
    stamped.write(cells, "price", 360, Stamping(1, "relay", None))
    assert stamped.values(cells) == {"price": 360, "name": "Latte"}
    assert "price" not in cells  # migrated on its first edit


def test_an_unchanged_value_writes_nothing() -> None:
    cells: dict[str, str] = {}
    assert stamped.write(cells, "price", 340, Stamping(1, "a", "x"))
    assert not stamped.write(cells, "price", 340, Stamping(2, "b", "y"))
    assert stamped.cells(cells)["price"][0].by == "x"


@pytest.mark.parametrize("key", ["price@", "price@x.y.z", "price@1.2"])
def test_a_malformed_stamp_is_refused(key: str) -> None:
    with pytest.raises(ValueError):
        stamped.values({key: '{"v":1}'})
