"""A shop for replication tests: a relay, a loopback proxy in front of it that cuts, stalls or
slows the link, and one enrolled appliance selling Croissants; convergence checked from outside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycrdt

from cloud.relay.storage.base import Storage
from edge.store.db import connect, db_path
from edge.store.documents import document_ids, load_doc
from edge.sync import cursors
from edge.sync.worker import PUSH_PAGE
from shared.schemas.sync import PushDoc, PushRequest, encode
from tests.relay.support import RelayServer
from tests.support.drawer import open_till
from tests.support.proxy import Proxy
from tests.support.server import OWNER_PIN, EdgeServer, Tablet, cli, pair_tablet
from tests.support.sync import (
    FAST_SYNC,
    Org,
    doc_content,
    rows,
    state_vector,
    synced,
    wait_for,
)


def relay_doc(relay: RelayServer, doc_id: str) -> pycrdt.Doc:
    """A fresh replica of what the relay's storage holds for ``doc_id`` (snapshot and log)."""

    async def pull_all(storage: Storage) -> list[bytes]:
        bodies: list[bytes] = []
        cursor = 0
        while True:
            page = await storage.pull(doc_id, cursor, 1000)
            if page.snapshot is not None:
                bodies.append(page.snapshot)
            bodies += [u.body for u in page.updates]
            cursor = page.cursor
            if not page.more:
                return bodies

    doc = pycrdt.Doc()
    for body in relay.storage(pull_all):
        doc.apply_update(body)
    return doc


@dataclass
class Shop:
    """A relay, the proxy in front of it, and one enrolled appliance selling Croissants."""

    relay: RelayServer
    proxy: Proxy
    org_id: str
    edge: EdgeServer
    owner: Tablet
    item_id: str
    sold: list[str]

    def sell(self, count: int) -> list[str]:
        """Quick cash sales, each answered by the appliance whatever the link is doing."""
        ids = []
        for _ in range(count):
            response = self.owner.post(
                "/api/v1/orders",
                json={
                    "lines": [{"item_id": self.item_id, "quantity": 1}],
                    "payments": [{"tender": "cash", "tendered_minor": 500}],
                },
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        self.sold += ids
        return ids

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.owner.get("/api/v1/sync/status").json()
        return body

    def pending(self) -> int:
        return sum(d["pending_updates"] for d in self.status()["docs"])

    def sync_now(self) -> None:
        # After a long outage the backoff may be a minute away: the owner presses "sync now".
        assert self.owner.post("/api/v1/sync/now").status_code == 202

    def day(self) -> str:
        days = {r[0] for r in rows(self.edge, "SELECT doc_id FROM orders")}
        assert len(days) == 1, days
        return days.pop()

    def push_bytes(self) -> int:
        """The size of the push the worker will send next for the day: what is pending, deflated."""
        conn = connect(db_path(self.edge.data_dir), writer=False)
        try:
            marks = cursors.cursors(conn)
            after = marks[self.day()].pushed_seq if self.day() in marks else 0
            updates, _ = cursors.pending(conn, self.day(), after, PUSH_PAGE)
        finally:
            conn.close()
        request = PushRequest(docs=[PushDoc(doc_id=self.day(), updates=updates)])
        return len(encode(request, compress=True))

    def relay_orders(self) -> dict[str, Any]:
        return dict(relay_doc(self.relay, self.day()).get("orders", type=pycrdt.Map).to_py() or {})

    def converge(self, timeout_s: float = 60.0) -> None:
        """Wait until nothing is pending, the relay holds every sale and every document is the
        same on both sides (edits made on the relay reach the appliance by its next pull)."""
        self.sync_now()
        wait_for(lambda: synced(self.owner), "nothing pending and no failure", timeout_s)
        wait_for(lambda: set(self.relay_orders()) == set(self.sold), "every sale on the relay")
        wait_for(lambda: not self.unequal_documents(), "every document equal on both sides")
        self.assert_replicas_equal()

    def unequal_documents(self) -> list[str]:
        """The documents whose content or state vector differ between the appliance and relay."""
        conn = connect(db_path(self.edge.data_dir), writer=False)
        unequal = []
        try:
            for doc_id in document_ids(conn):
                mine, theirs = load_doc(conn, doc_id), relay_doc(self.relay, doc_id)
                if doc_content(theirs, doc_id) != doc_content(mine, doc_id) or state_vector(
                    theirs
                ) != state_vector(mine):
                    unequal.append(doc_id)
        finally:
            conn.close()
        return unequal

    def assert_replicas_equal(self) -> None:
        orders = self.relay_orders()
        assert sorted(orders) == sorted(self.sold), "the relay holds each sale exactly once"
        assert len(self.sold) == len(set(self.sold))
        assert self.unequal_documents() == []
        payments = rows(self.edge, "SELECT order_id FROM payments")
        assert sorted(p[0] for p in payments) == sorted(self.sold), "one payment per sale"


@contextmanager
def open_shop(tmp_path: Path, relay_env: dict[str, str] | None = None) -> Iterator[Shop]:
    with RelayServer(tmp_path / "relay", env=relay_env) as relay, Proxy(relay.port) as proxy:
        org = Org(relay)
        store_id, code = org.store()
        data = tmp_path / "a"
        enrolled = cli(
            "enroll", "--data", str(data), "--relay", proxy.url, "--code", code, "--demo"
        )
        assert store_id in enrolled.stdout
        edge = EdgeServer(data, env=FAST_SYNC)
        edge.start()
        try:
            owner = pair_tablet(edge)
            owner.login(OWNER_PIN)
            open_till(owner)
            item = owner.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()[0]
            shop = Shop(relay, proxy, org.id, edge, owner, item["id"], [])
            wait_for(lambda: synced(owner), "the demo menu and staff to reach the relay")
            yield shop
        finally:
            edge.stop()
