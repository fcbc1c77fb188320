"""Storage for retiring old PIN secrets and for owner password failures, on both backends:
a document's history rewritten as one snapshot, and login attempts reserved atomically."""

from __future__ import annotations

import asyncio

import pycrdt
import pytest

from cloud.relay.storage.base import Storage
from shared.schemas.sync import Update, update_hash
from shared.throttle import Backoff
from tests.relay.support import map_edits

pytestmark = pytest.mark.anyio
DOC = "org/o1/people"


def _updates(bodies: list[bytes]) -> list[Update]:
    return [Update(hash=update_hash(b), body=b) for b in bodies]


async def test_a_rewritten_history_is_one_snapshot_and_keeps_no_erased_value(
    storage: Storage,
) -> None:
    doc, bodies = map_edits({"pepper": "the-old-secret", "name": "Sam"})
    await storage.append(DOC, _updates(bodies), at_ms=1)
    assert await storage.compact(DOC, at_ms=2)  # a segment and, later, a log row
    late = doc.get_state()
    doc.get("entries", type=pycrdt.Map)["late"] = "row"
    bodies.append(doc.get_update(late))
    await storage.append(DOC, _updates(bodies[-1:]), at_ms=3)
    with doc.transaction():
        del doc.get("entries", type=pycrdt.Map)["pepper"]
    snapshot = doc.get_update()
    assert b"the-old-secret" not in snapshot

    assert not await storage.rewrite_history(DOC, 2, snapshot, at_ms=4)  # the head moved on
    assert await storage.rewrite_history(DOC, 3, snapshot, at_ms=4)
    whole = await storage.pull(DOC, 0, 100)
    assert [u.body for u in whole.updates] == [snapshot] and whole.cursor == 4
    assert whole.segments == 1
    # An appliance level with the old head pulls the rewrite as new.
    assert (await storage.pull(DOC, 3, 100)).cursor == 4
    # What was folded away stays known: pushed again, it is a duplicate.
    again = await storage.append(DOC, _updates(bodies), at_ms=5)
    assert (again.accepted, again.duplicates, again.head) == (0, 3, 4)
    replica = pycrdt.Doc()
    replica.apply_update(whole.updates[0].body)
    assert replica.get("entries", type=pycrdt.Map).to_py() == {"name": "Sam", "late": "row"}


async def test_concurrent_logins_reserve_attempts_one_at_a_time(storage: Storage) -> None:
    rule = Backoff(free=5, base_s=60.0)
    waits = await asyncio.gather(
        *(storage.take_login("a@x|1.2.3.4", 1000, rule) for _ in range(20))
    )
    assert sorted(waits)[:5] == [0] * 5 and all(w > 0 for w in sorted(waits)[5:])
    assert await storage.take_login("a@x|5.6.7.8", 1000, rule) == 0  # another address is free


async def test_a_success_gives_back_only_its_own_attempt(storage: Storage) -> None:
    rule = Backoff(free=3, base_s=10.0)
    key = "owner@x|10.0.0.1"
    for n in range(3):
        assert await storage.take_login(key, 1000 + n, rule) == 0  # three failures
    assert await storage.take_login(key, 1003, rule) > 0
    # After the wait, a try that succeeds is given back; the three failures still stand.
    assert await storage.take_login(key, 20_000, rule) == 0
    await storage.undo_login(key)
    assert await storage.take_login(key, 20_001, rule) > 0
    # Failures are forgotten once the rule stops remembering them.
    assert await storage.take_login(key, 20_000 + round(rule.forget_s * 1000) + 1, rule) == 0
