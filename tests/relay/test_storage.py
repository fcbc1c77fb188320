"""The relay's storage, one suite run on SQLite and on PostgreSQL: both must behave the same."""

from __future__ import annotations

import asyncio

import pycrdt
import pytest

from cloud.relay.storage.base import Conflict, NotFound, Storage
from cloud.relay.storage.merge import SEGMENT_UPDATES
from shared.schemas.sync import PulledDoc, Update, update_hash
from tests.relay.conftest import Backend

pytestmark = pytest.mark.anyio

DOC = "store/s1/day/2025-03-14"
OTHER = "store/s1/day/2025-03-15"


class Author:
    """A pycrdt document whose every transaction becomes one update for the relay."""

    def __init__(self) -> None:
        self.doc: pycrdt.Doc = pycrdt.Doc()
        self.orders = self.doc.get("orders", type=pycrdt.Map)
        self.bodies: list[bytes] = []
        self.doc.observe(lambda event: self.bodies.append(event.update))

    def write(self, n: int) -> list[Update]:
        """``n`` transactions: new orders, edits and deletions (deletions make delete sets)."""
        start = len(self.bodies)
        for _ in range(n):
            i = len(self.bodies)
            with self.doc.transaction():
                self.orders[f"o{i}"] = f"total {i * 125}"
                if i % 3 == 2:
                    del self.orders[f"o{i - 1}"]
                if i % 4 == 3:
                    self.orders[f"o{i - 3}"] = "voided"
        return [Update(hash=update_hash(b), body=b) for b in self.bodies[start:]]


def replay(pulled: list[PulledDoc]) -> pycrdt.Doc:
    """A fresh document with every pulled segment and update applied, in order."""
    doc: pycrdt.Doc = pycrdt.Doc()
    for page in pulled:
        for update in page.updates:
            doc.apply_update(update.body)
    return doc


def clocks(state: bytes) -> dict[int, int]:
    """A state vector as {client id: clock} (its encoding orders clients arbitrarily)."""
    decoder = pycrdt.Decoder(state)
    return dict(
        (decoder.read_var_uint(), decoder.read_var_uint()) for _ in range(decoder.read_var_uint())
    )


def assert_same_state(doc: pycrdt.Doc, author: Author) -> None:
    assert clocks(doc.get_state()) == clocks(author.doc.get_state())
    assert doc.get("orders", type=pycrdt.Map).to_py() == author.orders.to_py()


async def pull_all(storage: Storage, cursor: int, limit: int) -> list[PulledDoc]:
    """Pages until ``more`` is False, each from the cursor of the one before."""
    pages = [await storage.pull(DOC, cursor, limit)]
    while pages[-1].more:
        pages.append(await storage.pull(DOC, pages[-1].cursor, limit))
    return pages


# --- documents -----------------------------------------------------------------------------------


async def test_append_numbers_updates_in_their_order(storage: Storage) -> None:
    updates = Author().write(5)
    ack = await storage.append(DOC, updates, at_ms=1)
    assert (ack.accepted, ack.duplicates, ack.head) == (5, 0, 5)
    pulled = await storage.pull(DOC, 0, 100)
    assert pulled.updates == updates
    assert (pulled.cursor, pulled.more, pulled.segments) == (5, False, 0)


async def test_append_twice_counts_duplicates_and_keeps_the_head(storage: Storage) -> None:
    author = Author()
    first = author.write(4)
    await storage.append(DOC, first, at_ms=1)
    again = await storage.append(DOC, first, at_ms=2)
    assert (again.accepted, again.duplicates, again.head) == (0, 4, 4)
    second = author.write(2)
    mixed = await storage.append(DOC, [*first[2:], second[0], second[0], second[1]], at_ms=3)
    assert (mixed.accepted, mixed.duplicates, mixed.head) == (2, 3, 6)
    assert (await storage.pull(DOC, 0, 100)).updates == first + second


async def test_an_update_folded_into_a_segment_stays_a_duplicate(storage: Storage) -> None:
    updates = Author().write(3)
    await storage.append(DOC, updates, at_ms=1)
    assert await storage.compact(DOC, at_ms=2)
    ack = await storage.append(DOC, updates, at_ms=3)
    assert (ack.accepted, ack.duplicates, ack.head) == (0, 3, 3)


async def test_pull_pages_with_more_until_the_head(storage: Storage) -> None:
    updates = Author().write(10)
    await storage.append(DOC, updates, at_ms=1)
    pages = await pull_all(storage, 0, 4)
    assert [(p.cursor, p.more, len(p.updates)) for p in pages] == [
        (4, True, 4),
        (8, True, 4),
        (10, False, 2),
    ]
    assert [u for p in pages for u in p.updates] == updates
    level = await storage.pull(DOC, 10, 4)
    assert (level.cursor, level.more, level.updates) == (10, False, [])


async def test_pull_of_an_unknown_document_is_empty_with_the_cursor_unchanged(
    storage: Storage,
) -> None:
    pulled = await storage.pull("store/s1/day/1999-01-01", 7, 100)
    assert (pulled.cursor, pulled.more, pulled.segments, pulled.updates) == (7, False, 0, [])


async def test_pull_after_compaction_sends_the_segment_then_the_tail(storage: Storage) -> None:
    author = Author()
    await storage.append(DOC, author.write(10), at_ms=1)
    assert await storage.compact(DOC, at_ms=2)
    only_segment = await storage.pull(DOC, 0, 100)
    assert (only_segment.cursor, only_segment.segments, len(only_segment.updates)) == (10, 1, 1)
    assert only_segment.updates[0].hash == update_hash(only_segment.updates[0].body)
    assert_same_state(replay([only_segment]), author)

    tail = author.write(3)
    await storage.append(DOC, tail, at_ms=3)
    pages = await pull_all(storage, 4, 2)  # a cursor inside the folded log
    assert pages[0].segments == 1
    assert [(p.cursor, p.more) for p in pages] == [(11, True), (13, False)]
    assert [u for p in pages for u in p.updates][1:] == tail
    assert_same_state(replay(pages), author)

    past = await storage.pull(DOC, 11, 100)  # level with the segment: no segment again
    assert (past.segments, past.updates, past.cursor) == (0, tail[1:], 13)


async def test_a_push_during_compaction_stays_in_the_tail(storage: Storage) -> None:
    author = Author()
    await storage.append(DOC, author.write(6), at_ms=1)
    segment = await storage.build_segment(DOC)
    assert segment is not None
    assert (segment.base_seq, segment.upto_seq, segment.rows) == (0, 6, 6)
    late = author.write(1)
    await storage.append(DOC, late, at_ms=2)  # lands between the build and the swap
    assert await storage.swap_segment(DOC, segment, at_ms=3)
    pulled = await storage.pull(DOC, 0, 100)
    assert (pulled.updates[1:], pulled.cursor, pulled.segments) == (late, 7, 1)
    assert_same_state(replay([pulled]), author)


async def test_compaction_gives_up_when_another_swapped_first(storage: Storage) -> None:
    author = Author()
    await storage.append(DOC, author.write(3), at_ms=1)
    early = await storage.build_segment(DOC)
    await storage.append(DOC, author.write(3), at_ms=2)
    later = await storage.build_segment(DOC)
    assert early is not None and later is not None
    assert (early.upto_seq, later.upto_seq) == (3, 6)
    assert await storage.swap_segment(DOC, later, at_ms=3)
    # Swapping the older build now would fold rows 1-3 a second time.
    assert not await storage.swap_segment(DOC, early, at_ms=4)
    pulled = await storage.pull(DOC, 0, 100)
    assert (pulled.cursor, pulled.segments, len(pulled.updates)) == (6, 1, 1)
    assert_same_state(replay([pulled]), author)


async def test_only_rows_older_than_the_cutoff_are_folded(storage: Storage) -> None:
    author = Author()
    settled = author.write(4)
    await storage.append(DOC, settled, at_ms=10)
    young = author.write(3)
    await storage.append(DOC, young, at_ms=50)
    await storage.append(OTHER, Author().write(2), at_ms=10)
    assert await storage.long_logs(min_updates=2, before_ms=20, limit=10) == [DOC, OTHER]
    assert await storage.long_logs(min_updates=3, before_ms=20, limit=10) == [DOC]
    assert await storage.long_logs(min_updates=5, before_ms=20, limit=10) == []
    assert await storage.long_logs(min_updates=2, before_ms=20, limit=1) == [DOC]
    assert not await storage.compact(DOC, at_ms=60, before_ms=5)  # nothing that old
    assert await storage.compact(DOC, at_ms=60, before_ms=20)
    behind = await storage.pull(DOC, 0, 100)
    assert behind.segments == 1 and behind.updates[1:] == young
    assert_same_state(replay([behind]), author)
    caught_up = await storage.pull(DOC, 4, 100)  # level with the segment: just the tail
    assert (caught_up.segments, caught_up.updates) == (0, young)
    assert await storage.long_logs(min_updates=1, before_ms=20, limit=10) == [OTHER]


async def test_compaction_adds_a_segment_per_new_run(storage: Storage) -> None:
    author = Author()
    for at_ms in range(1, 4):
        await storage.append(DOC, author.write(4), at_ms=at_ms)
        assert await storage.compact(DOC, at_ms=at_ms)
    assert not await storage.compact(DOC, at_ms=5)  # nothing left to fold
    assert not await storage.compact("store/s1/day/1999-01-01", at_ms=5)
    pulled = await storage.pull(DOC, 0, 100)
    assert (pulled.cursor, pulled.segments, len(pulled.updates)) == (12, 3, 3)
    assert_same_state(replay([pulled]), author)
    assert await storage.doc_bytes(DOC) == sum(len(u.body) for u in pulled.updates)


async def test_a_segment_holds_a_bounded_run_of_the_log(storage: Storage) -> None:
    author = Author()
    await storage.append(DOC, author.write(SEGMENT_UPDATES + 5), at_ms=1)
    assert await storage.compact(DOC, at_ms=2)
    pulled = await storage.pull(DOC, 0, 1000)
    assert (pulled.segments, len(pulled.updates), pulled.cursor) == (1, 6, SEGMENT_UPDATES + 5)
    assert_same_state(replay([pulled]), author)


async def test_append_keeps_the_highest_state_vector_it_was_given(storage: Storage) -> None:
    author = Author()
    first = author.write(2)
    ack = await storage.append(DOC, first, at_ms=1, state_vector=author.doc.get_state())
    assert ack.state_vector is not None
    assert clocks(ack.state_vector) == clocks(author.doc.get_state())
    stale = pycrdt.Doc()
    stale.apply_update(first[0].body)  # another relay process's older view
    await storage.append(DOC, [], at_ms=2, state_vector=stale.get_state())
    stored = await storage.state_vectors([DOC, OTHER])
    assert list(stored) == [DOC]
    head, vector = stored[DOC]
    assert head == 2 and vector is not None and clocks(vector) == clocks(author.doc.get_state())


async def test_concurrent_appends_from_two_relays_number_without_gaps(backend: Backend) -> None:
    # Twelve writers (tablets) each push their batch through both relays at once. One writer's own
    # batches are pushed in order (pycrdt cannot integrate a log whose causal order is shuffled).
    authors = [Author() for _ in range(12)]
    batches = [author.write(3) for author in authors]
    async with backend.storage() as one, backend.storage() as two:
        await backend.empty()
        pushes = [(one, two)[n % 2].append(DOC, b, at_ms=n) for n, b in enumerate(batches)]
        replays = [(two, one)[n % 2].append(DOC, b, at_ms=n) for n, b in enumerate(batches)]
        acks = await asyncio.gather(*pushes, *replays)
        pulled = await one.pull(DOC, 0, 1000)
    assert sum(a.accepted for a in acks) == 36
    assert sum(a.duplicates for a in acks) == 36
    assert pulled.cursor == 36
    assert sorted(u.hash for u in pulled.updates) == sorted(u.hash for b in batches for u in b)
    everyone: pycrdt.Doc = pycrdt.Doc()
    for update in (u for b in batches for u in b):
        everyone.apply_update(update.body)
    replayed = replay([pulled])
    assert clocks(replayed.get_state()) == clocks(everyone.get_state())
    assert len(clocks(everyone.get_state())) == 12
    assert (
        replayed.get("orders", type=pycrdt.Map).to_py()
        == everyone.get("orders", type=pycrdt.Map).to_py()
    )


async def test_heads_lists_the_documents_under_each_prefix(storage: Storage) -> None:
    author = Author()
    docs = {
        "org/o1/catalog": 2,
        "org/o1/customers/07": 1,
        "org/o10/catalog": 1,
        "store/s1/day/2025-03-14": 3,
        "store/sx/day/2025-03-14": 1,  # "s_" would match it as a LIKE pattern
    }
    for doc_id, count in docs.items():
        await storage.append(doc_id, author.write(count), at_ms=1)
    heads = await storage.heads(["org/o1/", "store/s_/", "store/s1/", "org/o1/catalog"])
    assert [(h.doc_id, h.head) for h in heads] == [
        ("org/o1/catalog", 2),
        ("org/o1/customers/07", 1),
        ("store/s1/day/2025-03-14", 3),
    ]
    assert await storage.heads([]) == []
    assert len(await storage.heads([""])) == len(docs)


# --- who may sync --------------------------------------------------------------------------------


async def enrolled_store(storage: Storage) -> None:
    await storage.create_org("o1", "Café Lune", at_ms=1)
    await storage.create_store("s1", "o1", "Rue Oberkampf", at_ms=2)


async def test_orgs_and_stores_are_created_read_and_listed(storage: Storage) -> None:
    await enrolled_store(storage)
    await storage.create_store("s0", "o1", "Bastille", at_ms=3)
    assert (await storage.get_org("o1")).name == "Café Lune"
    assert [o.id for o in await storage.list_orgs()] == ["o1"]
    assert (await storage.get_store("s1")).org_id == "o1"
    assert [s.id for s in await storage.list_stores("o1")] == ["s0", "s1"]
    with pytest.raises(NotFound):
        await storage.get_org("nope")
    with pytest.raises(NotFound):
        await storage.get_store("nope")
    with pytest.raises(Conflict):
        await storage.create_org("o1", "again", at_ms=4)


async def test_a_store_or_owner_under_an_unknown_org_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.create_store("s1", "ghost", "Nowhere", at_ms=1)
    with pytest.raises(NotFound):
        await storage.create_owner("u1", "ghost", "a@b.c", "argon2", at_ms=1)
    with pytest.raises(NotFound):
        await storage.add_enrollment_code("h", "ghost", expires_at_ms=10)
    assert await storage.list_stores("ghost") == []


async def test_owner_email_is_unique_whatever_its_case(storage: Storage) -> None:
    await enrolled_store(storage)
    owner = await storage.create_owner("u1", "o1", "Ann@Example.com", "argon2$1", at_ms=3)
    assert owner.email == "ann@example.com"
    with pytest.raises(Conflict):
        await storage.create_owner("u2", "o1", "ann@EXAMPLE.com", "argon2$2", at_ms=4)
    assert await storage.owner_by_email("ANN@example.COM") == owner
    assert await storage.owner_by_email("bob@example.com") is None


async def test_an_enrollment_code_enrolls_one_device_once(storage: Storage) -> None:
    await enrolled_store(storage)
    await storage.add_enrollment_code("code-1", "s1", expires_at_ms=1000)
    device = await storage.redeem_enrollment_code("code-1", 500, "d1", "Till 1", "token-1")
    assert device is not None
    assert (device.org_id, device.store_id, device.enrolled_at_ms) == ("o1", "s1", 500)
    assert await storage.redeem_enrollment_code("code-1", 501, "d2", "Till 2", "token-2") is None
    assert await storage.device_by_token("token-1") == device
    assert await storage.device_by_token("token-2") is None


async def test_two_concurrent_redeems_of_one_code_enroll_one_device(backend: Backend) -> None:
    async with backend.storage() as one, backend.storage() as two:
        await backend.empty()
        await enrolled_store(one)
        await one.add_enrollment_code("code-1", "s1", expires_at_ms=1000)
        results = await asyncio.gather(
            *(
                (one, two)[n % 2].redeem_enrollment_code("code-1", 500, f"d{n}", "Till", f"t{n}")
                for n in range(6)
            )
        )
        enrolled = [d for d in results if d is not None]
        assert len(enrolled) == 1
        assert [await one.device_by_token(f"t{n}") for n in range(6)].count(None) == 5


async def test_an_expired_or_unknown_code_is_refused(storage: Storage) -> None:
    await enrolled_store(storage)
    await storage.add_enrollment_code("code-1", "s1", expires_at_ms=1000)
    assert await storage.redeem_enrollment_code("code-1", 1000, "d1", "Till", "t1") is None
    assert await storage.redeem_enrollment_code("nope", 10, "d1", "Till", "t1") is None
    assert await storage.device_by_token("t1") is None


async def test_a_revoked_device_is_no_longer_found_by_its_token(storage: Storage) -> None:
    await enrolled_store(storage)
    await storage.add_enrollment_code("code-1", "s1", expires_at_ms=1000)
    await storage.redeem_enrollment_code("code-1", 500, "d1", "Till", "t1")
    await storage.revoke_device("d1", at_ms=600)
    assert await storage.device_by_token("t1") is None
    with pytest.raises(NotFound):
        await storage.revoke_device("ghost", at_ms=600)


# --- lifecycle -----------------------------------------------------------------------------------


async def test_a_storage_refuses_to_start_twice_and_reopens_its_data(backend: Backend) -> None:
    storage = backend.storage()
    await storage.start()
    try:
        await backend.empty()
        with pytest.raises(RuntimeError):
            await storage.start()
        await storage.create_org("o1", "Café Lune", at_ms=1)
    finally:
        await storage.stop()
    async with backend.storage() as reopened:  # migrations are not run twice
        assert [o.id for o in await reopened.list_orgs()] == ["o1"]
