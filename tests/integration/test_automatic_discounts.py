"""Time-window discounts in the writer: the rules live in a minute are worked out once, and a
catalog edit or the next minute is seen by the very next order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.app.bootstrap import initialise, open_edge
from edge.app.catalog.queries import DISCOUNTS, ITEMS, list_all
from edge.app.catalog.service import archive_entity
from edge.app.config import EdgeConfig
from edge.app.context import Edge
from edge.app.orders import ticket
from edge.app.orders.schemas import LineInput
from edge.store.writer import WriteTx
from tests.support.store import owner_of

LONDON = ZoneInfo("Europe/London")  # the demo café's zone
# The demo's happy hour: 20 % off cold drinks, weekdays from 15:00 to 17:00.
INSIDE = int(datetime(2026, 11, 25, 16, 0, tzinfo=LONDON).timestamp() * 1000)  # a Wednesday
OUTSIDE = int(datetime(2026, 11, 25, 17, 0, tzinfo=LONDON).timestamp() * 1000)
SATURDAY = int(datetime(2026, 11, 28, 16, 0, tzinfo=LONDON).timestamp() * 1000)


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Edge]:
    initialise(tmp_path, demo=True)
    edge = open_edge(EdgeConfig.load(tmp_path))
    try:
        yield edge
    finally:
        edge.store.stop()


def discounted(edge: Edge, at_ms: int, item: str) -> list[str]:
    """The automatic discounts the writer gives a line of ``item`` rung up at ``at_ms``."""
    item_id = next(i.id for i in list_all(edge.store.read, ITEMS) if i.name == item)

    def command(tx: WriteTx) -> list[str]:
        lines = ticket.price_lines(tx.conn, [LineInput(item_id=item_id, quantity=1)], "order")
        settings = edge.settings(tx.conn)
        return [d.name for d in ticket.automatic_for(tx.conn, settings, at_ms, lines)]

    return edge.store.writer.call(command)


def test_the_happy_hour_follows_the_clock_and_the_catalog(edge: Edge) -> None:
    assert discounted(edge, INSIDE, "Apple juice") == ["Happy hour"]
    assert discounted(edge, INSIDE, "Croissant") == []  # not a cold drink
    assert discounted(edge, OUTSIDE, "Apple juice") == []  # the window ends at 17:00
    assert discounted(edge, SATURDAY, "Apple juice") == []  # weekdays only
    assert discounted(edge, INSIDE + 59_000, "Apple juice") == ["Happy hour"]  # same minute

    happy = next(d for d in list_all(edge.store.read, DISCOUNTS) if d.name == "Happy hour")
    edge.store.writer.call(archive_entity(edge, owner_of(edge), DISCOUNTS, happy.id))
    assert discounted(edge, INSIDE, "Apple juice") == []  # archived: gone from the next sale
