"""The CRDT document store: live pycrdt Docs over the ``crdt_update`` log and its segments.

Only the writer (whichever thread leads its batch, one at a time) touches this object: pycrdt
transactions from several tasks silently merge into one update. A document is loaded from its
compacted segments plus the later log entries, with the appliance's pinned client id, so its own
future updates continue its own clock.
"""

from __future__ import annotations

import secrets
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import apsw
import pycrdt

from edge.store.collections import Collection, doc_collections
from shared.schemas.stamped import SEP
from shared.schemas.sync import update_hash

# Yjs client ids must stay below 2^53 to survive JavaScript peers.
_CLIENT_ID_LIMIT = 1 << 53


class LiveDoc:
    """A document held in memory: the pycrdt Doc, its root maps and the updates it emits."""

    def __init__(self, doc: pycrdt.Doc) -> None:
        self.doc = doc
        self.captured: list[bytes] = []
        self._roots: dict[str, pycrdt.Map] = {}
        self._subscription = doc.observe(lambda event: self.captured.append(event.update))

    def root(self, name: str) -> pycrdt.Map:
        """A root map, looked up once: ``Doc.get`` costs more than the write it precedes."""
        found = self._roots.get(name)
        if found is None:
            found = self._roots[name] = self.doc.get(name, type=pycrdt.Map)
        return found


class DocumentStore:
    """Live documents, loaded on demand and evicted least-recently-used."""

    def __init__(self, max_live: int = 32) -> None:
        self._live: OrderedDict[str, LiveDoc] = OrderedDict()
        self._max_live = max_live

    def get(self, conn: apsw.Connection, doc_id: str) -> pycrdt.Doc:
        """The live document, loaded from the log through ``conn`` when not in memory."""
        return self._get(conn, doc_id).doc

    def _get(self, conn: apsw.Connection, doc_id: str) -> LiveDoc:
        live = self._live.get(doc_id)
        if live is None:
            live = self._live[doc_id] = LiveDoc(_load(conn, doc_id))
            while len(self._live) > self._max_live:
                self._live.popitem(last=False)
        else:
            self._live.move_to_end(doc_id)
        return live

    def evict(self, doc_id: str) -> None:
        """Forget the live copy; the next ``get`` reloads it from the log."""
        self._live.pop(doc_id, None)

    def change(
        self, conn: apsw.Connection, doc_id: str, edit: Callable[[LiveDoc], None], at_ms: int
    ) -> bytes | None:
        """Run ``edit`` in one document transaction and append its update to the log."""
        live = self._get(conn, doc_id)
        captured = live.captured
        captured.clear()
        with live.doc.transaction(origin="local"):
            edit(live)
        if not captured:
            return None  # the edit wrote nothing new
        body = captured[0] if len(captured) == 1 else pycrdt.merge_updates(*captured)
        captured.clear()
        append_update(conn, doc_id, body, "local", at_ms)
        return body

    def apply_remote(
        self, conn: apsw.Connection, doc_id: str, body: bytes, at_ms: int
    ) -> set[tuple[Collection, str]] | None:
        """Apply an update from elsewhere; the entries it touched, or None when already logged.

        A document of a kind this version does not know is kept all the same (logged, so every
        replica converges and a later version reads it), with no entry to project.
        """
        live = self._get(conn, doc_id)  # before logging: a fresh load would replay this update
        if not append_update(conn, doc_id, body, "remote", at_ms):
            return None
        touched: set[tuple[Collection, str]] = set()
        subscriptions = []
        try:
            colls = doc_collections(doc_id)
        except ValueError:
            colls = ()
        for coll in colls:
            root = live.root(coll.name)
            subscriptions.append((root, root.observe_deep(_collector(coll, touched))))
        try:
            live.doc.apply_update(body)
        finally:
            for root, subscription in subscriptions:
                root.unobserve(subscription)
        live.captured.clear()
        return touched


def _load(conn: apsw.Connection, doc_id: str) -> pycrdt.Doc:
    # Whichever thread leads the writer's batch edits the document (one at a time).
    doc = pycrdt.Doc(client_id=pinned_client_id(conn, doc_id), allow_multithreading=True)
    for body in stored_updates(conn, doc_id):
        doc.apply_update(body)
    return doc


def _collector(
    coll: Collection, touched: set[tuple[Collection, str]]
) -> Callable[[list[Any]], None]:
    """An observer noting which entries of a collection an update changed."""

    def collect(events: list[Any]) -> None:
        for event in events:
            if event.path:  # a field of a per-field entity: the entity is its first path step
                # (of a flat root, a container in the place of a cell: the value is its field)
                key = str(event.path[0])
                touched.add((coll, key.partition(SEP)[0] if coll.mode == "flat" else key))
            elif coll.mode == "flat":  # a cell of a flat value: the value is its field
                touched.update((coll, str(key).partition(SEP)[0]) for key in event.keys)
            else:
                touched.update((coll, str(key)) for key in event.keys)

    return collect


def stored_updates(conn: apsw.Connection, doc_id: str) -> Iterable[bytes]:
    """The segments then every later update of a document, in log order."""
    rows = conn.execute(
        "SELECT body, raw_size FROM (SELECT upto_seq AS seq, body, raw_size FROM crdt_segment"
        " WHERE doc_id = ?1 UNION ALL SELECT seq, body, NULL FROM crdt_update WHERE doc_id = ?1)"
        " ORDER BY seq",
        (doc_id,),
    )
    for body, raw_size in rows:
        yield segment_update(body, raw_size)


def deflate_segment(body: bytes) -> bytes:
    """A segment as kept on disk (level 1: five-fold already, at twice the speed of level 6)."""
    return zlib.compress(body, 1)


def segment_update(body: bytes, raw_size: int | None) -> bytes:
    """The update a stored segment holds."""
    return body if raw_size is None else zlib.decompress(body, bufsize=raw_size)


def load_doc(conn: apsw.Connection, doc_id: str) -> pycrdt.Doc:
    """A detached copy of a document, read from the log (for rebuilds and checks)."""
    doc = pycrdt.Doc()
    for body in stored_updates(conn, doc_id):
        doc.apply_update(body)
    return doc


def append_update(conn: apsw.Connection, doc_id: str, body: bytes, origin: str, at_ms: int) -> bool:
    """Append an update to the log unless its content is already there."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO crdt_update (doc_id, hash, body, origin, at_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        (doc_id, update_hash(body), body, origin, at_ms),
    )
    del cursor
    return conn.changes() > 0


def pinned_client_id(conn: apsw.Connection, doc_id: str) -> int:
    """This appliance's Yjs client id for a document, minted on first use and kept."""
    row = conn.execute("SELECT client_id FROM crdt_client WHERE doc_id = ?", (doc_id,)).fetchone()
    if row is not None:
        return int(row[0])
    client_id = secrets.randbelow(_CLIENT_ID_LIMIT - 1) + 1
    conn.execute("INSERT INTO crdt_client (doc_id, client_id) VALUES (?, ?)", (doc_id, client_id))
    return client_id


def document_ids(conn: apsw.Connection) -> list[str]:
    """Every document the log knows, snapshot or updates."""
    rows = conn.execute(
        "SELECT DISTINCT doc_id FROM crdt_segment UNION SELECT doc_id FROM crdt_update ORDER BY 1"
    )
    return [r[0] for r in rows]


def document_sizes(conn: apsw.Connection) -> dict[str, int]:
    """Bytes each document takes in the log (segments plus later updates): what it costs to hold,
    replay and ship, a little above its merged size."""
    rows = conn.execute(
        "SELECT doc_id, sum(n) FROM (SELECT doc_id, coalesce(raw_size, length(body)) AS n"
        " FROM crdt_segment"
        " UNION ALL SELECT doc_id, length(body) FROM crdt_update) GROUP BY doc_id"
    )
    return {doc_id: size for doc_id, size in rows}
