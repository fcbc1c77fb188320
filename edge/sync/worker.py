"""The sync worker: pushes this appliance's updates, pulls everyone else's, forever, politely.

Selling never waits on it: it runs beside the API as one asyncio task, reads the log on its own
connection, and applies what it pulls through the single writer like any other command (one
transaction per page: the updates, their projections and the new cursor together). After a
failure it backs off exponentially with jitter; a local change, ``sync_now`` or the timer wake it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import msgspec

from edge.store.documents import document_ids
from edge.store.store import Store
from edge.store.writer import WriteTx
from edge.sync import cursors, verify
from edge.sync.backoff import backoff_s
from edge.sync.client import RelayClient
from edge.sync.errors import RelayRefused, SyncError
from edge.sync.hints import HintListener
from shared.schemas.sync import (
    MAX_BATCH_UPDATES,
    PullDoc,
    PulledDoc,
    PullRequest,
    PushAck,
    PushDoc,
    PushRequest,
    Update,
    in_scope,
    update_hash,
)
from shared.tasks import cancel_and_wait

log = logging.getLogger("fynlo.sync")
PUSH_PAGE = 200
PULL_PAGE = 500
MAX_STATE_DOCS = 256  # documents per state request
# What the relay answers when a document's updates break its rules (403: not this device's to
# write; 422: no reader could read it), as opposed to refusing the device itself (401, 429).
DOCUMENT_REFUSALS = frozenset({403, 422})


class SyncSummary(msgspec.Struct, kw_only=True):
    """How the last round went, for /health and the status endpoint."""

    enrolled: bool
    running: bool = False
    failures: int = 0  # in a row
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    rounds: int = 0
    live: bool = False  # the relay's hint socket is connected
    repairs: int = 0  # pushes of what the relay lacked though nothing was pending
    refused: int = 0  # documents whose push the relay refused last round (each its last_error)


class SyncWorker:
    """One per appliance; ``start``/``stop`` or ``async with``; refuses to start twice."""

    def __init__(
        self,
        store: Store,
        client: RelayClient,
        *,
        org_id: str,
        store_id: str,
        interval_s: float = 15.0,
        verify_interval_s: float = 60.0,
        jitter: Callable[[], float] = random.random,
        live_hints: bool = True,
    ) -> None:
        self._store = store
        self._client = client
        self._org_id = org_id
        self._store_id = store_id
        self._interval_s = interval_s
        self._verify_interval_s = verify_interval_s
        self._verified_at: float | None = None  # time.monotonic() of the last periodic check
        self._jitter = jitter
        self._wake = asyncio.Event()  # sync now: a button, or a hint from the relay
        self._changed = asyncio.Event()  # a local commit: push it, unless backing off
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._summary = SyncSummary(enrolled=True)
        self._hints = HintListener(client.hints_url, self.sync_now) if live_hints else None

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("sync worker already started")
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="sync")
        if self._hints is not None:
            self._hints.start()
        self._summary.running = True

    async def stop(self) -> None:
        if self._hints is not None:
            await self._hints.stop()
        await cancel_and_wait(self._task)
        self._task = None
        self._summary.running = False
        await self._client.close()

    @property
    def summary(self) -> SyncSummary:
        """How replication is going (a live view: do not keep it)."""
        self._summary.live = self._hints is not None and self._hints.connected
        return self._summary

    def sync_now(self) -> None:
        """Wake the worker now (a button on the status page, or a hint from the relay)."""
        self._wake.set()

    def notify_threadsafe(self, _events: object = None) -> None:
        """Called after every local commit, from whichever thread led it."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._changed.set)

    async def run_once(self) -> None:
        """One full round: push everything pending, pull everything new, check now and then
        that the relay holds everything this appliance does."""
        refused = await self._push_all()
        await self._pull_all()
        now = time.monotonic()
        if self._verified_at is None or now - self._verified_at >= self._verify_interval_s:
            await self._verify_due()
            self._verified_at = now
        self._summary.refused = len(refused)
        if cursors.has_errors(self._store.read, but=refused):
            # An error of an earlier round no longer holds: it would stay forever on a document
            # with nothing new to push or pull. (Only then a write: a quiet till stays idle.)
            await self._store.writer.run(lambda tx: cursors.clear_errors(tx.conn, but=refused))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self._changed.clear()
            try:
                await self.run_once()
            except Exception as exc:  # replication must outlive any one bad round
                if not isinstance(exc, SyncError):
                    # A bug or a bad update, not the network: keep its trace, keep the worker.
                    log.exception("sync round failed unexpectedly")
                await self._failed(exc)
                # Backing off: a busy till's sales must not turn into one retry each against a
                # relay that is down or overloaded; only "sync now" or a hint cuts the wait short.
                delay = backoff_s(self._summary.failures, self._jitter())
                wake_on = [self._wake]
            else:
                self._summary.failures = 0
                self._summary.last_success_ms = self._store.clock()
                delay = self._interval_s
                wake_on = [self._wake, self._changed]
            self._summary.rounds += 1
            await _first_of(wake_on, delay)

    async def _failed(self, exc: Exception) -> None:
        self._summary.failures += 1
        self._summary.last_error = str(exc) if isinstance(exc, SyncError) else repr(exc)
        self._summary.last_error_ms = self._store.clock()
        error = self._summary.last_error
        log.warning("sync failed (%d in a row): %s", self._summary.failures, error)
        doc_ids = document_ids(self._store.read)
        await self._store.writer.run(
            lambda tx: cursors.record_error(tx.conn, doc_ids, error, tx.at_ms)
        )

    def _scoped(self, doc_ids: list[str]) -> list[str]:
        return [d for d in doc_ids if in_scope(d, self._org_id, self._store_id)]

    async def _push_all(self) -> dict[str, str]:
        """Push every document's pending updates; the documents the relay refused, and why.

        A refusal of one document's updates (they break a rule of the relay) holds back only
        that document: it is reported on it and tried again next round, while every other
        document is pushed and pulled as ever. Refusals of the device itself (revoked, rate
        limited) end the round.
        """
        conn = self._store.read
        marks = cursors.cursors(conn)
        refused: dict[str, str] = {}
        for doc_id in self._scoped(document_ids(conn)):
            pushed = marks[doc_id].pushed_seq if doc_id in marks else 0
            try:
                await self._push_doc(doc_id, pushed)
            except RelayRefused as exc:
                if exc.status not in DOCUMENT_REFUSALS:
                    raise
                log.warning("the relay refused %s, the rest syncs on: %s", doc_id, exc)
                refused[doc_id] = str(exc)
        if refused:
            await self._store.writer.run(
                lambda tx: [
                    cursors.record_error(tx.conn, [d], error, tx.at_ms)
                    for d, error in refused.items()
                ]
            )
        return refused

    async def _push_doc(self, doc_id: str, pushed: int) -> None:
        conn = self._store.read
        vector = None
        while True:
            updates, upto = cursors.pending(conn, doc_id, pushed, PUSH_PAGE)
            if not updates:
                break
            ack = await self._push_page(doc_id, updates)
            await self._store.writer.run(
                lambda tx, d=doc_id, u=upto, a=ack: cursors.record_push(tx.conn, d, u, a, tx.at_ms)
            )
            pushed, vector = upto, ack.state_vector
        if vector is not None:
            await self._verify(doc_id, vector)

    async def _push_page(self, doc_id: str, updates: list[Update]) -> PushAck:
        """Push one page; when the relay lacks what it builds on, repair first, then again."""
        request = PushRequest(docs=[PushDoc(doc_id=doc_id, updates=updates)])
        try:
            answer = await self._client.push(request)
        except RelayRefused as exc:
            if exc.code != "update-incomplete":
                raise
            await self._repair(doc_id, force=True)
            answer = await self._client.push(request)
        if not answer.acks:
            raise SyncError(f"the relay did not acknowledge {doc_id}")
        return answer.acks[0]

    async def _verify_due(self) -> None:
        """Ask the relay's state vectors of the documents due a check, and check them."""
        conn = self._store.read
        due = verify.due(conn, self._scoped(document_ids(conn)), self._store.clock())
        for start in range(0, len(due), MAX_STATE_DOCS):
            answer = await self._client.state(due[start : start + MAX_STATE_DOCS])
            for doc in answer.docs:
                await self._verify(doc.doc_id, doc.state_vector)

    async def _verify(self, doc_id: str, relay_vector: bytes) -> None:
        """Compare the relay's vector with ours; push what it lacks, once, and check again."""
        check = await self._check(doc_id, relay_vector)
        if check.missing is None:
            return
        await self._push_repair(doc_id, check.missing)

    async def _repair(self, doc_id: str, *, force: bool = False) -> None:
        """Push what the relay lacks of ``doc_id``, as its state vector shows it now."""
        answer = await self._client.state([doc_id])
        relay_vector = answer.docs[0].state_vector
        docs = self._store.writer.docs
        missing: bytes | None = await self._store.writer.run(
            lambda tx: verify.missing(tx, docs, doc_id, relay_vector)
        )
        if missing is not None or force:
            await self._push_repair(doc_id, missing or b"")

    async def _check(self, doc_id: str, relay_vector: bytes) -> verify.Check:
        docs = self._store.writer.docs
        check: verify.Check = await self._store.writer.run(
            lambda tx: verify.check(tx, docs, doc_id, relay_vector)
        )
        return check

    async def _push_repair(self, doc_id: str, missing: bytes) -> None:
        if not missing:
            raise SyncError(f"the relay refused {doc_id} and lacks nothing this appliance holds")
        log.warning(
            "the relay lacks part of %s although nothing waits to be pushed: pushing the"
            " %d bytes it lacks again",
            doc_id,
            len(missing),
        )
        await self._store.writer.run(lambda tx: verify.record_missing(tx.conn, doc_id))
        update = Update(hash=update_hash(missing), body=missing)
        answer = await self._client.push(
            PushRequest(docs=[PushDoc(doc_id=doc_id, updates=[update])])
        )
        await self._store.writer.run(lambda tx: verify.record_repair(tx.conn, doc_id, tx.at_ms))
        self._summary.repairs += 1
        vector = answer.acks[0].state_vector if answer.acks else None
        if vector is not None:
            check = await self._check(doc_id, vector)
            if check.missing is not None:
                raise SyncError(f"the relay still lacks part of {doc_id} after a repair")

    async def _pull_all(self) -> None:
        listing = await self._client.docs()
        marks = await self._check_relay_memory(
            cursors.cursors(self._store.read), {h.doc_id: h.head for h in listing.docs}
        )
        for head in listing.docs:
            if not in_scope(head.doc_id, self._org_id, self._store_id):
                continue  # the relay should never list it; never apply it if it does
            cursor = marks[head.doc_id].pull_cursor if head.doc_id in marks else 0
            if cursor >= head.head:
                continue  # nothing new: no request, and no trip through the writer
            # A replica that holds the document says what it holds: if the relay compacted the
            # log below our cursor, it sends the part of its snapshot we lack, not all of it.
            state = await self._state_vector(head.doc_id) if cursor > 0 else None
            while cursor < head.head:
                request = PullRequest(
                    docs=[PullDoc(doc_id=head.doc_id, cursor=cursor, state_vector=state)],
                    limit=min(PULL_PAGE, MAX_BATCH_UPDATES),
                )
                answer = await self._client.pull(request)
                if not answer.docs:
                    break
                page = answer.docs[0]
                await self._store.writer.run(lambda tx, p=page, h=head.head: _apply_page(tx, p, h))
                if page.cursor <= cursor and not page.more:
                    break  # nothing moved: the relay has no more for us now
                cursor = page.cursor
                state = None  # the pages after the first follow the snapshot: plain log
                if not page.more:
                    break

    async def _check_relay_memory(
        self, marks: dict[str, cursors.DocCursor], heads: dict[str, int]
    ) -> dict[str, cursors.DocCursor]:
        """Start over on documents whose head on the relay went backwards; the cursors after."""
        lost = [
            doc_id
            for doc_id, mark in marks.items()
            if heads.get(doc_id, 0) < mark.relay_head
            and in_scope(doc_id, self._org_id, self._store_id)
        ]
        if not lost:
            return marks
        log.warning(
            "the relay holds less than it acknowledged of %d document(s) (restored from a"
            " backup?): pushing and pulling them again from the start",
            len(lost),
        )
        await self._store.writer.run(lambda tx: cursors.start_over(tx.conn, lost, heads))
        self._wake.set()  # the pushes come in the next round, at once
        return cursors.cursors(self._store.read)

    async def _state_vector(self, doc_id: str) -> bytes:
        """The live document's state vector, read on the writer's thread (it owns the docs)."""
        docs = self._store.writer.docs
        state: bytes = await self._store.writer.run(
            lambda tx: docs.get(tx.conn, doc_id).get_state()
        )
        return state


async def _first_of(events: list[asyncio.Event], timeout_s: float) -> None:
    """Return when any of ``events`` is set, or after ``timeout_s``."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _apply_page(tx: WriteTx, page: PulledDoc, head: int) -> None:
    """Apply one pulled page and move the cursor, in one transaction."""
    if page.snapshot is not None:
        tx.apply_remote(page.doc_id, page.snapshot)
    for update in page.updates:
        tx.apply_remote(page.doc_id, update.body)
    cursors.record_pull(tx.conn, page.doc_id, page.cursor, head, tx.at_ms)
