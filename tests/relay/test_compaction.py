"""The relay's compactor: which documents it folds, how far, and the size budget it watches."""

from __future__ import annotations

import logging
import secrets

import pycrdt
import pytest

from cloud.relay.compaction import SETTLED_MS, Compactor
from cloud.relay.storage.base import Storage
from shared.schemas.documents import DOC_BUDGET_BYTES
from shared.schemas.sync import Update, update_hash
from tests.relay.test_storage import DOC, OTHER, Author, assert_same_state, replay

pytestmark = pytest.mark.anyio
BIG = "store/s1/day/2025-03-16"


class Clock:
    def __init__(self) -> None:
        self.now_ms = 0

    def __call__(self) -> int:
        return self.now_ms


def compactor(storage: Storage, clock: Clock) -> Compactor:
    return Compactor(storage, interval_s=60, min_updates=3, min_age_s=10, clock=clock)


async def test_a_pass_folds_the_settled_rows_of_long_logs_only(storage: Storage) -> None:
    clock, author = Clock(), Author()
    await storage.append(DOC, author.write(4), at_ms=0)
    await storage.append(OTHER, Author().write(2), at_ms=0)  # too short to be worth it
    await storage.append(DOC, (tail := author.write(2)), at_ms=9_000)  # not settled yet
    clock.now_ms = 12_000
    runs = compactor(storage, clock)
    assert await runs.run_once() == 1
    assert runs.stats.segments == 1
    pulled = await storage.pull(DOC, 0, 100)
    assert pulled.segments == 1 and pulled.updates[1:] == tail
    assert_same_state(replay([pulled]), author)
    assert len((await storage.pull(OTHER, 0, 100)).updates) == 2
    assert await runs.run_once() == 0  # the tail is still young, two rows anyway


async def test_a_short_log_left_alone_for_a_day_is_folded_too(storage: Storage) -> None:
    clock, author, quiet = Clock(), Author(), Author()
    await storage.append(DOC, quiet.write(2), at_ms=0)  # below min_updates: a quiet day
    await storage.append(OTHER, author.write(1), at_ms=SETTLED_MS)  # written a day later
    clock.now_ms = SETTLED_MS + 1
    runs = compactor(storage, clock)
    assert await runs.run_once() == 1
    folded = await storage.pull(DOC, 0, 100)
    assert folded.segments == 1 and len(folded.updates) == 1
    assert_same_state(replay([folded]), quiet)
    assert (await storage.pull(OTHER, 0, 100)).segments == 0  # still young, and short


async def test_a_pass_costs_what_it_folds_and_never_rewrites_a_segment(storage: Storage) -> None:
    clock, author = Clock(), Author()
    await storage.append(DOC, author.write(5), at_ms=0)
    clock.now_ms = 12_000
    runs = compactor(storage, clock)
    assert await runs.run_once() == 1
    first = (await storage.pull(DOC, 0, 100)).updates
    await storage.append(DOC, author.write(4), at_ms=clock.now_ms)
    clock.now_ms += 12_000
    assert await runs.run_once() == 1
    pulled = await storage.pull(DOC, 0, 100)
    # The first segment is as it was; the new rows became a second one.
    assert pulled.segments == 2 and pulled.updates[0] == first[0]
    assert_same_state(replay([pulled]), author)


async def test_a_document_above_the_budget_is_reported(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    doc: pycrdt.Doc = pycrdt.Doc()
    bodies: list[bytes] = []
    doc.observe(lambda event: bodies.append(event.update))
    notes = doc.get("audit", type=pycrdt.Map)
    for n in range(3):  # incompressible text, a third of the budget and more each
        notes[f"n{n}"] = secrets.token_hex(DOC_BUDGET_BYTES // 5)
    await storage.append(BIG, [Update(hash=update_hash(b), body=b) for b in bodies], at_ms=0)
    clock = Clock()
    clock.now_ms = 60_000
    runs = compactor(storage, clock)
    with caplog.at_level(logging.WARNING, logger="fynlo.relay.compaction"):
        assert await runs.run_once() == 1
    assert runs.stats.over_budget == {BIG}
    assert any(BIG in r.getMessage() and "budget" in r.getMessage() for r in caplog.records)
