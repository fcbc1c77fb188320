"""The single writer: every change to the store file goes through here.

A command is a function ``command(tx) -> result`` run by the writer, one at a time. It reads
what it needs through ``tx.conn`` (projections, inside the open transaction), decides through the
pure domain, and records its writes as intents (``tx.put``, ``tx.patch``, ``tx.set``,
``tx.audit``). Only when it returns are the intents applied: each touched document changes in one
pycrdt transaction, its update is appended to the ``crdt_update`` log, the entries are
re-projected, all inside the command's SAVEPOINT. A refusal therefore never touches a document.

Commands that arrive together share one ``BEGIN IMMEDIATE ... COMMIT`` (group commit); each caller
is answered only after that shared commit, so an acknowledged write is durable.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import apsw
import msgspec
import pycrdt

from edge.store import projection
from edge.store.collections import Collection, collection
from edge.store.db import checkpoint, connect
from edge.store.documents import DocumentStore, LiveDoc
from edge.store.errors import WriterStopped
from edge.store.memo import Memo, attach, detach
from shared.cards import refuse_card_numbers
from shared.schemas import compact, stamped
from shared.schemas.documents import AuditEntry
from shared.schemas.stamped import Stamping

T = TypeVar("T")
MAX_BATCH = 64


@dataclass
class _Intent:
    doc_id: str
    coll: Collection
    key: str
    fields: dict[str, Any]  # per-field or flat writes: name -> JSON-able value
    whole: msgspec.Struct | None = None  # encoded entities are written whole
    _text: str = ""

    @property
    def text(self) -> str:
        """The JSON of ``whole`` for its projection, worked out once and only if needed: a
        command that rewrites an entity projects only its last value."""
        if not self._text:
            self._text = projection.encode(self.whole)
        return self._text


@dataclass
class WriteTx:
    """What a command sees: the writer's connection and the intent recorders."""

    conn: apsw.Connection
    at_ms: int
    intents: list[_Intent] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)
    audited: bool = False
    applier: Callable[[WriteTx, bool], list[str]] | None = None
    remote_applier: Callable[[WriteTx, str, bytes], bool] | None = None
    applied_docs: set[str] = field(default_factory=set)
    deferred: list[_Intent] = field(default_factory=list)
    _audits: dict[tuple[str, str | None], AuditEntry] = field(default_factory=dict)

    @property
    def actor_id(self) -> str | None:
        """Who this command acts for, as its audit entry says (None before it audited)."""
        return next((e.actor_id for e in self._audits.values()), None)

    def apply_remote(self, doc_id: str, body: bytes) -> bool:
        """Take an update from elsewhere (the relay): log it once, apply it, re-project what it
        touched. False when the log already held it. Remote updates are not audited here: the
        replica that made them audited them."""
        if self.remote_applier is None:
            raise RuntimeError("this transaction cannot take remote updates")
        self.applied_docs.add(doc_id)
        return self.remote_applier(self, doc_id, body)

    def flush(self) -> None:
        """Project the intents so far, so the rest of this command reads its own writes.

        Lets one command compose steps (ring up an order, then pay it) that each read the
        projections; the whole command still commits or rolls back as one. Whole entities reach
        their document only at the end, once, with their last value.
        """
        if self.intents and self.applier is not None:
            self.applied_docs.update(self.applier(self, False))
            self.intents = []

    def put(self, doc_id: str, coll_name: str, value: msgspec.Struct) -> None:
        """Write a whole entity (for per-field collections: every field)."""
        refuse_card_numbers(value)
        coll = collection(coll_name)
        key = value.id  # type: ignore[attr-defined]
        if coll.mode == "encoded":
            self.intents.append(_Intent(doc_id, coll, key, {}, whole=value))
        else:
            self.intents.append(_Intent(doc_id, coll, key, msgspec.to_builtins(value)))

    def patch(self, doc_id: str, coll_name: str, key: str, fields: dict[str, Any]) -> None:
        """Write only the named fields of a per-field entity: the others keep their last writer."""
        coll = collection(coll_name)
        if coll.mode != "fields":
            raise ValueError(f"{coll_name} is not a per-field collection")
        refuse_card_numbers(fields)
        self.intents.append(_Intent(doc_id, coll, key, msgspec.to_builtins(fields)))

    def set(self, doc_id: str, coll_name: str, key: str, value: Any) -> None:
        """Write one flat key (settings and other shared scalars)."""
        refuse_card_numbers(value, key)
        self.intents.append(
            _Intent(doc_id, collection(coll_name), key, {"": msgspec.to_builtins(value)})
        )

    def audit(self, doc_id: str, entry: AuditEntry) -> None:
        """Record who did what; every command that writes must audit.

        The steps of one command on one entity (ring an order up, then take its payment) are
        one act and share one entry: the first step's action, the later ones listed in order in
        ``detail["then"]``. A quick sale's trail then costs one entry of its day document.
        """
        key = (doc_id, entry.entity_id)
        first = self._audits.get(key)
        if first is not None:
            # What the first step said already (the order's number) is not repeated.
            said = first.detail
            step = {"action": entry.action}
            step.update((k, v) for k, v in entry.detail.items() if said.get(k) != v)
            if entry.approved_by is not None:
                step["approved_by"] = entry.approved_by
            then = [*first.detail.get("then", []), step]
            entry = msgspec.structs.replace(
                first,
                detail={**first.detail, "then": then},
                approved_by=first.approved_by or entry.approved_by,
            )
        self._audits[key] = entry
        self.put(doc_id, "audit", entry)
        self.audited = True

    def publish(self, topic: str, payload: Any) -> None:
        """An event for WebSocket subscribers, sent only after the commit.

        ``payload`` may be a Struct: it is encoded when sent, so a sale nobody watches pays
        nothing for it. Commands replace entities rather than mutate them, so it stays as it was.
        """
        self.events.append((topic, payload))


class Writer:
    """Owns the writer connection and the live documents; runs commands one batch at a time.

    A thread that calls ``call``/``submit`` while no batch is running becomes the leader: it runs
    every queued command as one batch, in its own thread, then looks again; the others wait for
    their futures. A lone caller therefore runs its command inline, with no thread hand-off (and
    no fight for the GIL with a second thread around every SQLite call), while concurrent callers
    still share commits. Commands from the event loop (``run``) are led by the writer's own pump
    thread instead, so the loop keeps serving requests while SQLite works. The lock makes the
    connection and the live documents single-user, as apsw and pycrdt require.
    """

    def __init__(
        self,
        path: Path,
        clock: Callable[[], int],
        on_commit: Callable[[list[tuple[str, Any]]], None] | None = None,
        wal_restart_pages: int = 4096,
    ) -> None:
        self._path = path
        self._wal_restart_pages = wal_restart_pages
        self._restart_at = wal_restart_pages
        self._clock = clock
        self._on_commit = on_commit
        self._queue: deque[tuple[Callable[[WriteTx], Any], Future[Any]]] = deque()
        self._lead = threading.Lock()
        self._wake = threading.Event()
        self._pump: threading.Thread | None = None
        self._conn: apsw.Connection | None = None
        self._stopped = False
        self.docs = DocumentStore()
        self._memo = Memo()
        self.batches = 0
        self.commands = 0
        self.wal_pages = 0  # frames in the WAL after the last commit (SQLite's WAL hook)
        self.wal_restarts = 0
        self._replica_id: str | None = None
        self._last_batch_at = time.monotonic()

    def start(self) -> None:
        if self._conn is not None:
            raise RuntimeError("writer already started")
        conn = connect(self._path, writer=True)
        self._memo = attach(conn)
        conn.set_wal_hook(self._on_wal)
        self._stopped = False
        self._conn = conn
        self._pump = threading.Thread(target=self._pump_loop, name="writer", daemon=True)
        self._pump.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._pump is not None:
            self._pump.join()
            self._pump = None
        with self._lead:
            self._stopped = True
            while self._queue:
                _, future = self._queue.popleft()
                future.set_exception(WriterStopped("the store is shutting down"))
            if self._conn is not None:
                detach(self._conn)
                self._conn.close()
                self._conn = None

    def submit(self, command: Callable[[WriteTx], T], *, lead: bool = True) -> Future[T]:
        """Queue a command; resolves after the commit.

        ``lead``: run the batch in this thread if nobody is (else the pump thread runs it).
        """
        if self._stopped or self._conn is None:
            raise WriterStopped("the store is shutting down")
        future: Future[T] = Future()
        self._queue.append((command, future))
        if lead:
            self._drain()
        else:
            self._wake.set()
        return future

    def call(self, command: Callable[[WriteTx], T]) -> T:
        """Run a command and wait for its commit."""
        return self.submit(command).result()

    async def run(self, command: Callable[[WriteTx], T]) -> T:
        """Run a command from asyncio code and await its commit (led by the pump thread)."""
        return await asyncio.wrap_future(self.submit(command, lead=False))

    def _pump_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()  # before draining: a later wake-up is never lost
            if self._stopped:
                return
            self._drain()

    def _drain(self) -> None:
        # An item queued after the leader's last look is seen by its submitter's own look here,
        # which comes after the append: one of the two always runs it.
        while self._queue and not self._stopped:
            if not self._lead.acquire(blocking=False):
                return  # a leader is running and will look at the queue again
            try:
                while self._queue and self._conn is not None:
                    batch = [self._queue.popleft()]
                    while self._queue and len(batch) < MAX_BATCH:
                        batch.append(self._queue.popleft())
                    self._run_batch(self._conn, batch)
                    if self.wal_pages >= self._restart_at:
                        self._restart_wal(self._conn)
            finally:
                self._lead.release()

    def idle_s(self) -> float:
        """Seconds since the last commit, 0 while commands wait: background work yields to sales."""
        if self._queue or self._lead.locked():
            return 0.0
        return time.monotonic() - self._last_batch_at

    def _restart_wal(self, conn: apsw.Connection) -> None:
        """Let the WAL start over from its beginning: it must never grow without bound.

        The background checkpointer copies the WAL into the database while sales go on, but in
        a rush that never pauses new frames arrive as fast as it copies, so it never finishes,
        and only a finished checkpoint lets the next commit write the WAL from its start again
        (seen: 1.9 GB of WAL after a long rush). Here, between two batches, no frame can arrive:
        what the background left is copied, and the next commit restarts the WAL.
        """
        self.wal_restarts += 1
        if checkpoint(conn):
            self._restart_at = self._wal_restart_pages  # the next commit starts the WAL over
        else:
            # Another checkpoint was running, or a reader still used the WAL's end: try again
            # a little later rather than after every batch.
            self._restart_at = self.wal_pages + self._wal_restart_pages // 8

    def _replica(self, conn: apsw.Connection) -> str:
        """This appliance's name in the stamps of its edits: its store (one appliance a store)."""
        if self._replica_id is None:
            row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
            if row is None:
                return "local"  # a store being created: its identity comes next
            self._replica_id = str(row[0])
        return self._replica_id

    def _on_wal(self, conn: apsw.Connection, name: str, pages: int) -> int:
        self.wal_pages = pages
        return apsw.SQLITE_OK

    def _run_batch(
        self, conn: apsw.Connection, batch: list[tuple[Callable[[WriteTx], Any], Future[Any]]]
    ) -> None:
        outcomes: list[tuple[Future[Any], bool, Any, list[tuple[str, Any]]]] = []
        touched: set[str] = set()
        # A command shares its transaction with others only in a batch: alone, it needs no
        # SAVEPOINT (whose journal copies every page the command touches) - a refusal rolls the
        # whole transaction back instead.
        shared = len(batch) > 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            for command, future in batch:
                ok, value, events = self._run_one(conn, command, touched, shared)
                outcomes.append((future, ok, value, events))
            if not conn.getautocommit():
                conn.execute("COMMIT")
                self.batches += 1
        except BaseException as exc:
            # The commit itself failed (disk full, I/O error): nothing of the batch is durable.
            if not conn.getautocommit():
                conn.execute("ROLLBACK")
            self._memo.clear()
            for doc_id in touched:
                self.docs.evict(doc_id)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.commands += len(batch)
        self._last_batch_at = time.monotonic()
        events: list[tuple[str, Any]] = []
        for future, ok, value, command_events in outcomes:
            if ok:
                future.set_result(value)
                events.extend(command_events)
            else:
                future.set_exception(value)
        # Called for every commit that changed a document, even with no event for tablets: the
        # sync worker wakes on it.
        if (events or touched) and self._on_commit is not None:
            self._on_commit(events)

    def _run_one(
        self,
        conn: apsw.Connection,
        command: Callable[[WriteTx], Any],
        touched: set[str],
        shared: bool,
    ) -> tuple[bool, Any, list[tuple[str, Any]]]:
        """Run one command of the open transaction; a refusal leaves no trace of it.

        ``shared``: other commands of the batch share the transaction, so the command runs in a
        SAVEPOINT; alone, a refusal rolls the transaction back.
        """
        tx = WriteTx(conn, self._clock(), applier=self._apply, remote_applier=self._apply_remote)
        if shared:
            conn.execute("SAVEPOINT command")
        try:
            result = command(tx)
            if tx.intents and not tx.audited:
                raise RuntimeError("a command wrote without an audit entry")
            tx.applied_docs.update({i.doc_id for i in tx.intents})  # before: a failure reloads them
            self._apply(tx, True)
            if shared:
                conn.execute("RELEASE command")
        except Exception as exc:
            if shared:
                conn.execute("ROLLBACK TO command")
                conn.execute("RELEASE command")
            else:
                conn.execute("ROLLBACK")
            if tx.applied_docs:
                # Documents may hold part of this command's edits: reload them from the log.
                for doc_id in tx.applied_docs:
                    self.docs.evict(doc_id)
                self._memo.clear()
            return False, exc, []
        touched.update(tx.applied_docs)
        return True, result, tx.events

    def _apply_remote(self, tx: WriteTx, doc_id: str, body: bytes) -> bool:
        touched = self.docs.apply_remote(tx.conn, doc_id, body, tx.at_ms)
        if touched is None:
            return False
        doc = self.docs.get(tx.conn, doc_id)
        for coll, key in touched:
            self._memo.forget(coll.name)
            # An entry this version cannot read is left out and listed (edge.store.quarantine):
            # the update, and the rest of the page it came in, still apply.
            projection.project_entry(tx.conn, doc_id, doc, coll, key, tx.at_ms)
        projection.check_roots(tx.conn, doc_id, doc, tx.at_ms)
        return True

    def _apply(self, tx: WriteTx, final: bool) -> list[str]:
        """Write intents to their documents (and the log) and project them.

        On a flush (not ``final``) whole entities are only projected and kept for the end, so an
        order rewritten by later steps of the same command reaches its document once.
        """
        for intent in tx.intents:
            self._memo.forget(intent.coll.name)
        if final:
            to_doc = _last_whole(tx.deferred + tx.intents)
        else:
            to_doc = [i for i in tx.intents if i.whole is None]
            tx.deferred += [i for i in tx.intents if i.whole is not None]
        by_doc: dict[str, list[_Intent]] = {}
        for intent in to_doc:
            by_doc.setdefault(intent.doc_id, []).append(intent)
        stamping = Stamping(tx.at_ms, self._replica(tx.conn), tx.actor_id)
        for doc_id, intents in by_doc.items():
            self.docs.change(
                tx.conn, doc_id, lambda live, i=intents: _write(live, i, stamping), tx.at_ms
            )
        for intent in {(i.doc_id, i.coll.name, i.key): i for i in tx.intents}.values():
            if intent.whole is not None:
                # A single-writer entity is exactly what we just wrote: no need to read it back.
                projection.project(
                    tx.conn, intent.doc_id, intent.coll, intent.key, intent.whole, intent.text
                )
            else:  # as the cells read now (an edit of a field also resolves its conflicts)
                doc = self.docs.get(tx.conn, intent.doc_id)
                projection.project_entry(
                    tx.conn, intent.doc_id, doc, intent.coll, intent.key, tx.at_ms
                )
        return list({i.doc_id: None for i in tx.intents} | dict.fromkeys(by_doc))


def _last_whole(intents: list[_Intent]) -> list[_Intent]:
    """The intents in order, keeping only the last write of each whole entity."""
    last = {(i.doc_id, i.coll.name, i.key): n for n, i in enumerate(intents) if i.whole is not None}
    return [
        i
        for n, i in enumerate(intents)
        if i.whole is None or last[(i.doc_id, i.coll.name, i.key)] == n
    ]


def _write(live: LiveDoc, intents: list[_Intent], stamping: Stamping) -> None:
    for intent in intents:
        root = live.root(intent.coll.name)
        if intent.whole is not None:
            root[intent.key] = compact.encode(intent.whole)
        elif intent.coll.mode == "flat":
            stamped.write(root, intent.key, intent.fields[""], stamping)
        else:
            _write_fields(root, intent.key, intent.fields, stamping)


def _write_fields(root: pycrdt.Map, key: str, fields: dict[str, Any], stamping: Stamping) -> None:
    entity = root.get(key)
    if entity is None:
        # Only the writer that minted this key creates the nested Map (see DESIGN: Documents).
        root[key] = pycrdt.Map(stamped.new_cells(fields, stamping))
        return
    for name, value in fields.items():
        stamped.write(entity, name, value, stamping)  # an unchanged field keeps its cell
