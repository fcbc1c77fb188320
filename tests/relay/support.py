"""A real ``fynlo-relay serve`` process on a free loopback port, and clients that speak to it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pycrdt

from cloud.relay.storage.base import Storage
from cloud.relay.storage.sqlite import SqliteStorage
from shared.schemas import compact, stamped
from shared.schemas.documents import AuditEntry
from shared.schemas.layout import doc_kind
from shared.schemas.sync import (
    DocList,
    PullDoc,
    PullRequest,
    PullResponse,
    PushDoc,
    PushRequest,
    PushResponse,
    Update,
    decode,
    encode,
    update_hash,
)
from tests.support.server import free_port, kill_process, stop_process, wait_healthy

BIN = Path(sys.executable).parent / "fynlo-relay"
MSGPACK = "application/x-msgpack"
T = TypeVar("T")


def relay_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``fynlo-relay`` with arguments and capture its output."""
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, check=check, timeout=120
    )


class RelayServer:
    """One relay process on a data directory; ``env`` adds FYNLO_RELAY_* settings."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        database: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database = database  # a postgresql:// URL, or None for SQLite in data_dir
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"relay-{self.port}.log"

    def start(self, timeout_s: float = 20.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["serve", "--data", str(self.data_dir), "--port", str(self.port)]
        if self.database:
            args += ["--database", self.database]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            wait_healthy(self.proc, self.url, timeout_s, self.log, "fynlo-relay")
        except (RuntimeError, TimeoutError):
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def __enter__(self) -> RelayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def storage(self, action: Callable[[Storage], Awaitable[T]]) -> T:
        """Run ``action`` on the server's SQLite file opened directly, beside the server."""

        async def run() -> T:
            async with SqliteStorage(self.data_dir / "relay.db") as storage:
                return await action(storage)

        return asyncio.run(run())


class SyncClient:
    """An enrolled device speaking the sync protocol (msgpack bodies) to a relay."""

    def __init__(self, relay: RelayServer, token: str, *, device_id: str = "") -> None:
        self.token = token
        self.device_id = device_id
        self.http = httpx.Client(
            base_url=relay.url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}
        )

    def send(
        self,
        path: str,
        body: bytes | msgspec.Struct,
        *,
        compress: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a body as is (bytes) or encoded (a message), with msgpack headers by default."""
        raw = body if isinstance(body, bytes) else encode(body)
        if compress:
            raw = zlib.compress(raw)
        sent = {"Content-Type": MSGPACK, **({"Content-Encoding": "deflate"} if compress else {})}
        return self.http.post(
            f"/api/v1/sync/{path}", content=raw, headers={**sent, **(headers or {})}
        )

    def push(self, docs: dict[str, list[bytes]], *, compress: bool = False) -> PushResponse:
        response = self.send("push", push_request(docs), compress=compress)
        assert response.status_code == 200, response.text
        return decode(response.content, PushResponse)

    def pull(self, cursors: dict[str, int], limit: int = 500) -> PullResponse:
        request = PullRequest(
            docs=[PullDoc(doc_id=d, cursor=c) for d, c in cursors.items()], limit=limit
        )
        response = self.send("pull", request)
        assert response.status_code == 200, response.text
        return decode(response.content, PullResponse)

    def heads(self) -> dict[str, int]:
        response = self.http.get("/api/v1/sync/docs")
        assert response.status_code == 200, response.text
        return {d.doc_id: d.head for d in decode(response.content, DocList).docs}

    def close(self) -> None:
        self.http.close()


def push_request(docs: dict[str, list[bytes]]) -> PushRequest:
    """A push of these update bodies, each with its correct hash."""
    return PushRequest(
        docs=[
            PushDoc(doc_id=doc_id, updates=[Update(hash=update_hash(b), body=b) for b in bodies])
            for doc_id, bodies in docs.items()
        ]
    )


def map_edits(values: dict[str, Any]) -> tuple[pycrdt.Doc, list[bytes]]:
    """Raw Yjs writes into an "entries" map: for storage, which stores bytes without reading them
    (a relay process refuses them: no document has that root)."""
    doc = pycrdt.Doc()
    entries = doc.get("entries", type=pycrdt.Map)
    updates = []
    for key, value in values.items():
        before = doc.get_state()
        entries[key] = value
        updates.append(doc.get_update(before))
    return doc, updates


NOTES_DAY = "store/any/day/2025-01-01"
TEST_STORE = "00000000-0000-7000-8000-000000000001"  # the replica test cells are stamped by


def edits(values: dict[str, Any], doc_id: str = NOTES_DAY) -> tuple[pycrdt.Doc, list[bytes]]:
    """A document and one Yjs update per value, as an appliance's log would hold them, of
    content the relay admits for ``doc_id``'s kind: in a day document each value is an audit
    entry (named in its detail); in a catalog or people document, a new category or server
    named by the value. Each call makes new entities (fresh ids)."""
    kind = doc_kind(doc_id)
    doc = pycrdt.Doc()
    updates = []
    for name, value in values.items():
        before = doc.get_state()
        key = str(uuid.uuid4())
        if kind == "day":
            write_note(doc, key, name, value)
        elif kind in ("catalog", "people"):
            fields: dict[str, Any] = {"id": key, "name": f"{name}: {value}"}
            if kind == "people":
                fields["role"] = "server"
            cells = stamped.new_cells(
                fields, stamped.Stamping(time.time_ns() // 1_000_000, TEST_STORE, None)
            )
            root = "categories" if kind == "catalog" else "employees"
            doc.get(root, type=pycrdt.Map)[key] = pycrdt.Map(cells)
        else:
            raise ValueError(f"no test content for {doc_id!r}")
        updates.append(doc.get_update(before))
    return doc, updates


def write_note(doc: pycrdt.Doc, key: str, name: str, value: Any) -> None:
    """Write (or rewrite) the audit entry ``key`` of a day document, noting name = value."""
    note = AuditEntry(
        id=key, at_ms=time.time_ns() // 1_000_000, actor_id=None, device_id=None,
        action="test.note", entity_type="note", detail={"name": name, "value": value},
    )  # fmt: skip
    doc.get("audit", type=pycrdt.Map)[key] = compact.encode(note)


def content(doc: pycrdt.Doc) -> dict[str, Any]:
    """What a document made by ``edits`` holds: notes by name; categories and staff by name."""
    found: dict[str, Any] = {}
    for key, raw in doc.get("audit", type=pycrdt.Map).items():
        note = compact.decode(raw, AuditEntry, key)
        found[note.detail["name"]] = note.detail["value"]
    for root in ("categories", "employees"):
        for entity in doc.get(root, type=pycrdt.Map).values():
            name, _, value = str(stamped.values(entity)["name"]).partition(": ")
            found[name] = value
    return found


def replay(pulled: list[bytes]) -> dict[str, Any]:
    """What a fresh replica holds after applying pulled updates (and snapshots)."""
    doc = pycrdt.Doc()
    for update in pulled:
        doc.apply_update(update)
    return content(doc)
