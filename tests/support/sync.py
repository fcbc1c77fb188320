"""Helpers for replication tests: an org on a real relay, enrolled stores, convergence checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pycrdt

from edge.store.collections import doc_collections
from edge.store.db import connect, db_path
from tests.relay.support import RelayServer, relay_cli
from tests.support.answers import expect_json
from tests.support.server import EdgeServer, Tablet, cli

FAST_SYNC = {"FYNLO_SYNC_INTERVAL_S": "0.2", "FYNLO_SYNC_VERIFY_INTERVAL_S": "0.5"}
OWNER = {"email": "owner@cafe.test", "password": "long-enough-pass"}


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll a condition until it holds (the relay is asynchronous by design)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def owner_client(relay: RelayServer) -> httpx.Client:
    """An HTTP client of the relay's owner API, logged in as ``OWNER``."""
    token = expect_json(httpx.post(f"{relay.url}/api/v1/auth/login", json=OWNER))["access_token"]
    return httpx.Client(
        base_url=relay.url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )


class Org:
    """An org on the relay (its owner is ``OWNER``) with stores to enroll."""

    def __init__(self, relay: RelayServer) -> None:
        self.relay = relay
        out = relay_cli(
            "org", "create", "--data", str(relay.data_dir), "--name", "Café Co",
            "--owner-email", OWNER["email"], "--owner-password", OWNER["password"],
        ).stdout  # fmt: skip
        self.id = out.split()[-1]

    def store(self) -> tuple[str, str]:
        """A new store of the org: (store id, enrollment code)."""
        out = relay_cli(
            "store", "create", "--data", str(self.relay.data_dir), "--org", self.id, "--name", "s"
        ).stdout.split()
        return out[-2], out[-1]


def enroll(org: Org, data_dir: Path, env: dict[str, str] = FAST_SYNC) -> tuple[EdgeServer, str]:
    """A new store of ``org``, enrolled with the demo café and serving: (server, store id)."""
    store_id, code = org.store()
    result = cli(
        "enroll", "--data", str(data_dir), "--relay", org.relay.url, "--code", code, "--demo"
    )
    assert store_id in result.stdout
    server = EdgeServer(data_dir, env=env)
    server.start()
    return server, store_id


def synced(tablet: Tablet) -> bool:
    """Every document in sync (nothing pending, the relay's state vector seen covering ours) and
    the last round did not fail (needs device.manage)."""
    status = tablet.get("/api/v1/sync/status").json()
    return status["summary"]["failures"] == 0 and all(d["in_sync"] for d in status["docs"])


def rows(server: EdgeServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Sorted rows of a query on the appliance's file, read beside the running server."""
    conn = connect(db_path(server.data_dir), writer=False)
    try:
        return sorted(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


def state_vector(doc: pycrdt.Doc) -> dict[int, int]:
    """The state vector decoded (client id -> clock): its byte order is not canonical."""
    data, pos = doc.get_state(), 0

    def varuint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    return {varuint(): varuint() for _ in range(varuint())}


def doc_content(doc: pycrdt.Doc, doc_id: str) -> dict[str, Any]:
    """Every collection of a document as plain values."""
    return {c.name: doc.get(c.name, type=pycrdt.Map).to_py() or {} for c in doc_collections(doc_id)}
