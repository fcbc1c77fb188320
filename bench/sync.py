"""Replication figures: an offline store reconnecting, the relay under 100 stores, document sizes.

* Reconnect: a real ``fynlo-relay serve``, an appliance enrolled in process whose sync worker is
  not running (offline) sells ``orders`` quick sales, then the worker runs rounds until nothing is
  pending and the pull is done: the time from the first request to convergence, and the bodies on
  the wire (requests and responses, as sent: deflated pushes, gzipped pulls) per order. The relay
  is then read back: it must hold every order.
* Ingest: a fresh relay with ``stores`` stores and devices made through its storage (the
  per-device rate limit lifted: the relay's capacity is measured, not the limiter), and as many
  clients in a process of their own each pushing small real Yjs updates, one per request.
* Sizes: the merged day document of the reconnect run, and one realistic day (a café's
  ``day_orders`` sales) times 365 for a year, an extrapolation stated as such.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pycrdt

from bench import combine
from bench.edge_sale import FLOAT_COUNTS, TABLET, TENDERED, EdgeSale, sale_lines
from bench.sync_ingest import ingest
from cloud.relay.storage.base import Storage
from edge.app.bootstrap import open_edge
from edge.app.catalog.queries import ITEMS, MODIFIER_GROUPS, list_all
from edge.app.config import EdgeConfig
from edge.app.context import Edge
from edge.app.drawer.service import open_drawer
from edge.app.enrollment import enroll_appliance
from edge.app.orders.sale import open_order
from edge.app.orders.schemas import OrderCreate
from edge.app.relay_link import TOKEN_FILE, relay_url
from edge.store.documents import load_doc, stored_updates
from edge.sync import cursors
from edge.sync.client import RelayClient
from edge.sync.worker import SyncWorker
from shared.schemas.documents import day_doc
from tests.relay.support import RelayServer, relay_cli
from tests.support.store import owner_of

CONVERGE_LIMIT_S = 2.0  # the target, from reconnect to convergence
MAX_ROUNDS = 10  # sync rounds allowed to converge before the run is declared broken


class CountingTransport(httpx.AsyncBaseTransport):
    """Loopback HTTP that counts the bodies on the wire, as sent (before any decompression)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests = 0
        self.sent = 0
        self.received = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests += 1
        self.sent += len(body)
        response = await self._inner.handle_async_request(request)
        response.stream = _Counted(response.stream, self)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response stream adding the raw bytes it yields to its transport's count."""

    def __init__(self, stream: Any, counter: CountingTransport) -> None:
        self._stream = stream
        self._counter = counter

    async def __aiter__(self) -> Any:
        async for chunk in self._stream:
            self._counter.received += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class OfflineStore:
    """An appliance enrolled with the relay, opened in process with its sync worker stopped."""

    def __init__(self, data_dir: Path, relay: RelayServer, code: str) -> None:
        enroll_appliance(data_dir, relay.url, code, "bench", demo=True)
        self.edge: Edge = open_edge(EdgeConfig.load(data_dir))
        conn = self.edge.store.read
        self.actor = owner_of(self.edge, TABLET)
        lines = sale_lines(list_all(conn, ITEMS), list_all(conn, MODIFIER_GROUPS))
        cash = [{"tender": "cash", "tendered_minor": TENDERED}]
        self.order = msgspec.convert({"lines": lines, "payments": cash}, OrderCreate)
        self.edge.store.writer.call(open_drawer(self.edge, self.actor, FLOAT_COUNTS))

    def sell(self, count: int) -> str:
        """``count`` quick sales, each one writer command; the business day they fill."""
        day = ""
        for _ in range(count):
            sold = self.edge.store.writer.call(open_order(self.edge, self.actor, self.order))
            day = sold.business_day
        return day

    def worker(self, transport: CountingTransport) -> SyncWorker:
        """A sync worker like the appliance's own, speaking through ``transport``."""
        token = (self.edge.config.data_dir / TOKEN_FILE).read_text().strip()
        url = relay_url(self.edge.store.read)
        assert url is not None
        client = RelayClient(url, token, transport=transport)
        return SyncWorker(
            self.edge.store,
            client,
            org_id=self.edge.org_id,
            store_id=self.edge.store_id,
            live_hints=False,
        )

    def close(self) -> None:
        self.edge.store.stop()


async def converge(worker: SyncWorker, store: OfflineStore) -> tuple[float, int]:
    """Sync rounds until nothing is pending: the seconds it took and the rounds it needed."""
    start = time.perf_counter()
    try:
        for rounds in range(1, MAX_ROUNDS + 1):
            await worker.run_once()
            if not cursors.pending_counts(store.edge.store.read):
                return time.perf_counter() - start, rounds
    finally:
        await worker.stop()
    raise RuntimeError(f"still pending after {MAX_ROUNDS} sync rounds")


def relay_orders(relay: RelayServer, doc_id: str) -> int:
    """Orders of a day document as the relay holds it (snapshot and log, read from its file)."""

    async def read(storage: Storage) -> int:
        doc = pycrdt.Doc()
        cursor, more = 0, True
        while more:
            page = await storage.pull(doc_id, cursor, 1000)
            if page.snapshot is not None:
                doc.apply_update(page.snapshot)
            for update in page.updates:
                doc.apply_update(update.body)
            more = page.more and page.cursor > cursor
            cursor = page.cursor
        return len(doc.get("orders", type=pycrdt.Map))

    return relay.storage(read)


def day_doc_sizes(edge: Edge, day: str) -> dict[str, int]:
    """The merged day document and its log on the appliance."""
    conn = edge.store.read
    doc_id = edge.day_doc(day)
    log = list(stored_updates(conn, doc_id))
    doc = load_doc(conn, doc_id)
    return {
        "day_doc_bytes": len(doc.get_update()),
        "day_log_bytes": sum(len(body) for body in log),
        "day_log_updates": len(log),
        "day_orders": len(doc.get("orders", type=pycrdt.Map)),
    }


def reconnect_round(root: Path, relay: RelayServer, org_id: str, orders: int) -> dict[str, float]:
    """One store sells ``orders`` offline, then reconnects: time to converge and wire bytes."""
    data = str(relay.data_dir)
    code = relay_cli("store", "create", "--data", data, "--org", org_id, "--name", "b").stdout
    code = code.split()[-1]
    store = OfflineStore(root, relay, code)
    try:
        day = store.sell(orders)
        pending = sum(cursors.pending_counts(store.edge.store.read).values())
        transport = CountingTransport()
        seconds, rounds = asyncio.run(converge(store.worker(transport), store))
        sizes = day_doc_sizes(store.edge, day)
        held = relay_orders(relay, day_doc(store.edge.store_id, day))
    finally:
        store.close()
    if held != orders or sizes["day_orders"] != orders:
        raise RuntimeError(f"sold {orders}, the relay holds {held}, the appliance {sizes}")
    wire = transport.sent + transport.received
    return {
        "orders": orders,
        "pending_updates": pending,
        "converge_s": round(seconds, 3),
        "sync_rounds": rounds,
        "requests": transport.requests,
        "sent_bytes": transport.sent,
        "received_bytes": transport.received,
        "wire_bytes_per_order": round(wire / orders, 1),
        "sent_bytes_per_order": round(transport.sent / orders, 1),
        "relay_orders": held,
        **sizes,
    }


def reconnect(root: Path, orders: int, rounds: int) -> dict[str, float]:
    """Medians over ``rounds`` fresh stores of one relay (default rate limits)."""
    with RelayServer(root / "relay") as relay:
        org_id = relay_cli(
            "org", "create", "--data", str(relay.data_dir), "--name", "Bench Co",
            "--owner-email", "bench@cafe.test", "--owner-password", "long-enough-pass",
        ).stdout.split()[-1]  # fmt: skip
        runs = [reconnect_round(root / f"store-{n}", relay, org_id, orders) for n in range(rounds)]
    return combine(runs)


def collection_bytes(doc: pycrdt.Doc) -> dict[str, dict[str, int]]:
    """Entries and the bytes of their JSON values, per collection: where a day's size goes."""
    sizes = {}
    for name in sorted(doc.keys()):
        values = list(doc.get(name, type=pycrdt.Map).values())
        sizes[name] = {"entries": len(values), "value_bytes": sum(len(str(v)) for v in values)}
    return sizes


def year_of_days(root: Path, day_orders: int) -> dict[str, Any]:
    """One realistic day sold on a standalone demo store; a year is that day times 365."""
    sale = EdgeSale(root)  # opens the till and sells one order
    try:
        for _ in range(day_orders - 1):
            sale.sell()
        sizes = day_doc_sizes(sale.edge, sale.template.business_day)
        doc = load_doc(sale.edge.store.read, sale.edge.day_doc(sale.template.business_day))
    finally:
        sale.close()
    return sizes | {
        "collections": collection_bytes(doc),
        "year_bytes": sizes["day_doc_bytes"] * 365,
        "year_basis": (
            f"extrapolated: one day document of {sizes['day_orders']} quick sales (the demo"
            " café's 3-line order paid in cash, with its payments, drawer entries and audit)"
            " measured after loading it from the appliance's log, times 365"
        ),
    }


def run(orders: int, stores: int, updates: int, day_orders: int, rounds: int) -> dict[str, Any]:
    """Every replication figure, in a scratch directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="fynlo-bench-sync-") as tmp:
        root = Path(tmp)
        names = (root / f"part-{n}" for n in itertools.count())
        return {
            "reconnect": reconnect(next(names), orders, rounds),
            "ingest": ingest(next(names), stores, updates, 60.0, rounds),
            "sizes": year_of_days(next(names), day_orders),
        }
