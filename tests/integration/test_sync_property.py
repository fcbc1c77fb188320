"""Property: three replicas and a relay converge after any interleaving of edits, sales, syncs and
faults.

All in process for speed: three edge ``Store``s in temp dirs, the relay's Litestar app over SQLite
served through ``httpx.ASGITransport``, and one ``SyncWorker`` per replica whose ``run_once`` the
test calls itself. A replica's link can be down (its sync fails before reaching the relay) or lose
the answer to one of its requests after the relay has acted on it, and the relay and any replica
may fold their logs into segments between any two steps.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pycrdt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.relay.app import Relay, create_app
from cloud.relay.config import RelayConfig
from cloud.relay.routes.enroll import issue_code
from cloud.relay.storage.base import Storage
from edge.app.bootstrap import write_identity
from edge.store.compaction import compact_once
from edge.store.db import connect
from edge.store.documents import document_ids, load_doc
from edge.store.store import Store, create
from edge.store.writer import WriteTx
from edge.sync import cursors
from edge.sync.client import RelayClient, enroll
from edge.sync.errors import SyncError
from edge.sync.worker import SyncWorker
from shared.ids import now_ms, uuid7
from shared.schemas import documents as d
from shared.schemas import stamped
from tests.support.sync import doc_content, state_vector

ORG = "org1"
# Store ids as the relay makes them: an appliance stamps its edits with its store's id.
STORES = tuple(f"0190f000-0000-7000-9000-00000000000{n}" for n in range(3))
CATALOG = d.catalog_doc(ORG)
BUSINESS_DAY = "2026-11-26"
BASE = "http://relay.test"
ITEM = "0190f000-0000-7000-8000-000000000001"


class Link(httpx.AsyncBaseTransport):
    """One replica's link to the relay: up, down, or losing the answer to its n-th request."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.lose_nth: int | None = None  # 1-based, counted from when it was set
        self.explode: Exception | None = None  # raised once, as a bug would be

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.explode is not None:
            exc, self.explode = self.explode, None
            raise exc
        if self.down:
            raise httpx.ConnectError("link down", request=request)
        response = await self.inner.handle_async_request(request)
        if self.lose_nth is not None:
            self.lose_nth -= 1
            if self.lose_nth == 0:
                self.lose_nth = None
                await response.aread()  # the relay has done the work; the answer is lost
                raise httpx.ReadError("connection reset", request=request)
        return response


@dataclass
class Replica:
    store_id: str
    store: Store
    link: Link
    worker: SyncWorker
    orders: list[str] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def day(self) -> str:
        return d.day_doc(self.store_id, BUSINESS_DAY)

    def audit(self, tx: WriteTx, action: str) -> None:
        entry = d.AuditEntry(
            id=uuid7(),
            at_ms=tx.at_ms,
            actor_id="e1",
            device_id=self.store_id,
            action=action,
            entity_type="test",
        )
        tx.audit(self.day, entry)

    async def edit(self, fields: dict[str, Any]) -> None:
        def command(tx: WriteTx) -> None:
            tx.patch(CATALOG, "items", ITEM, fields)
            self.audit(tx, "item.updated")

        await self.store.writer.run(command)

    async def sell(self) -> None:
        order = d.Order(
            id=uuid7(),
            number=next(self.numbers),
            business_day=BUSINESS_DAY,
            device_id=self.store_id,
            opened_by="e1",
            opened_at_ms=self.store.clock(),
            updated_at_ms=self.store.clock(),
        )

        def command(tx: WriteTx) -> None:
            tx.put(self.day, "orders", order)
            self.audit(tx, "order.created")

        await self.store.writer.run(command)
        self.orders.append(order.id)

    async def sync(self) -> bool:
        """One round; False when the link failed it (the worker would back off and retry)."""
        try:
            await self.worker.run_once()
        except SyncError:
            return False
        return True


async def relay_doc(storage: Storage, doc_id: str) -> pycrdt.Doc:
    doc, cursor = pycrdt.Doc(), 0
    while True:
        page = await storage.pull(doc_id, cursor, 1000)
        for update in page.updates:
            doc.apply_update(update.body)
        cursor = page.cursor
        if not page.more:
            return doc


async def open_relay(data_dir: Path) -> tuple[Relay, httpx.ASGITransport]:
    # No rate limit: this test calls the relay as fast as Python goes.
    config = RelayConfig(data_dir=data_dir, sync_rate_per_s=1e9, sync_burst=1_000_000_000)
    relay = Relay.build(config)
    await relay.storage.start()  # ASGITransport runs no lifespan: start the storage here
    await relay.storage.create_org(ORG, "Org", now_ms())
    for store_id in STORES:
        await relay.storage.create_store(store_id, ORG, store_id, now_ms())
    return relay, httpx.ASGITransport(app=create_app(relay))


async def open_replica(relay: Relay, app: httpx.ASGITransport, data_dir: Path, n: int) -> Replica:
    store_id = STORES[n]
    code = await issue_code(relay.storage, store_id, now_ms(), 3600)
    enrollment = await enroll(BASE, code.code, f"appliance {n}", transport=app)
    create(data_dir)
    store = Store(data_dir)
    store.start()
    store.writer.call(lambda tx: write_identity(tx, ORG, store_id))
    link = Link(app)
    client = RelayClient(BASE, enrollment.token, transport=link)
    worker = SyncWorker(store, client, org_id=ORG, store_id=store_id)
    return Replica(store_id, store, link, worker)


STEP = st.one_of(
    st.tuples(
        st.just("edit"),
        st.integers(0, 2),
        st.sampled_from(["name", "price_minor"]),
        st.integers(0, 3),
    ),
    st.tuples(st.just("sell"), st.integers(0, 2)),
    st.tuples(st.just("sync"), st.integers(0, 2)),
    st.tuples(st.just("partition"), st.integers(0, 2)),
    st.tuples(st.just("lose"), st.integers(0, 2), st.integers(1, 4)),
    st.tuples(st.just("compact"), st.just(0)),  # the relay folds every log into segments
    st.tuples(st.just("fold"), st.integers(0, 2)),  # a replica folds what it may of its log
)


async def play(replica: Replica, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "edit":
        _, _, name, value = step
        await replica.edit({name: f"Item v{value}" if name == "name" else 100 + value})
    elif kind == "sell":
        await replica.sell()
    elif kind == "sync":
        await replica.sync()
    elif kind == "partition":
        replica.link.down = not replica.link.down
    elif kind == "fold":
        conn = connect(replica.store.path, writer=False)
        try:
            await asyncio.to_thread(compact_once, conn, replica.store.writer, 1)
        finally:
            conn.close()
    else:  # the relay acts on the n-th request of the next sync, its answer never arrives
        replica.link.lose_nth = step[2]
        await replica.sync()
        replica.link.lose_nth = None


async def compact_all(storage: Storage) -> None:
    for head in await storage.heads([""]):
        await storage.compact(head.doc_id, now_ms())


async def scenario(root: Path, steps: list[tuple[Any, ...]]) -> None:
    relay, app = await open_relay(root / "relay")
    replicas = [await open_replica(relay, app, root / f"edge{n}", n) for n in range(3)]
    try:
        item = d.Item(id=ITEM, name="Item", category_id="c1", price_minor=100)

        def mint(tx: WriteTx) -> None:
            tx.put(CATALOG, "items", item)  # only replica 0 creates the item's nested Map
            replicas[0].audit(tx, "item.created")

        await replicas[0].store.writer.run(mint)
        for replica in replicas:
            assert await replica.sync()
        for step in steps:
            if step[0] == "compact":
                await compact_all(relay.storage)
            else:
                await play(replicas[step[1]], step)
        for replica in replicas:
            replica.link.down = False
        for _ in range(2):
            for replica in replicas:
                assert await replica.sync(), "a sync over a healed link fails"
        await check(relay.storage, replicas)
    finally:
        for replica in replicas:
            await replica.worker.stop()
            replica.store.stop()
        await relay.storage.stop()


async def check(storage: Storage, replicas: list[Replica]) -> None:
    relay_catalog = await relay_doc(storage, CATALOG)
    items = "SELECT id, name, price_minor FROM items"
    for replica in replicas:
        conn = replica.store.read
        assert cursors.pending_counts(conn) == {}, "updates left unpushed"
        catalog = load_doc(conn, CATALOG)
        assert doc_content(catalog, CATALOG) == doc_content(relay_catalog, CATALOG)
        assert state_vector(catalog) == state_vector(relay_catalog)
        for doc_id in document_ids(conn):  # the relay holds everything every replica wrote
            mine = state_vector(load_doc(conn, doc_id))
            held = state_vector(await relay_doc(storage, doc_id))
            assert all(held.get(c, 0) >= clock for c, clock in mine.items()), doc_id
        entity = catalog.get("items", type=pycrdt.Map)[ITEM]
        projected = conn.execute(items).fetchall()
        expected = [(ITEM, *(pycrdt_json(entity, f) for f in ("name", "price_minor")))]
        assert projected == expected, "the projection disagrees with the document"
        own = f"store/{replica.store_id}/"
        theirs = [i for i in document_ids(conn) if i.startswith("store/") and not i.startswith(own)]
        assert theirs == [], f"{replica.store_id} holds another store's documents"
        on_relay = (await relay_doc(storage, replica.day)).get("orders", type=pycrdt.Map)
        assert sorted(on_relay.keys()) == sorted(replica.orders), "not every sale exactly once"
    projections = [r.store.read.execute(items).fetchall() for r in replicas]
    assert projections[0] == projections[1] == projections[2]


def pycrdt_json(entity: pycrdt.Map, name: str) -> Any:
    """One field of a per-field entity: its winning cell's value."""
    return stamped.values(entity)[name]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, max_size=30))
def test_replicas_converge_after_any_interleaving(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp), steps))


def test_the_sync_worker_outlives_an_unexpected_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        relay, app = await open_relay(tmp_path / "relay")
        replica = await open_replica(relay, app, tmp_path / "edge0", 0)
        worker = replica.worker
        try:
            await worker.start()
            replica.link.explode = RuntimeError("a bug, not the network")
            await replica.sell()  # the commit wakes the worker: its round hits the bug
            await until(lambda: worker.summary.failures >= 1)
            assert "a bug, not the network" in (worker.summary.last_error or "")
            worker.sync_now()  # the next round goes through
            await until(lambda: cursors.pending_counts(replica.store.read) == {})
            assert worker.summary.running and worker.summary.failures == 0
        finally:
            await worker.stop()
            replica.store.stop()
            await relay.storage.stop()

    asyncio.run(scenario())


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll ``condition`` on the event loop the worker runs on."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
