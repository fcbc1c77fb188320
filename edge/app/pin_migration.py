"""Moving PIN verifiers out of the org's people document, into this store's own (once).

Older versions kept the org's pepper and every employee's PIN tag and hash in the people
document, so every appliance could work out every PIN of the org. On its first start with this
version an appliance, before it syncs anything:

1. **moves** the verifiers of the staff who work here into ``store/{store}/pins`` (untagged: their
   tags used the pepper; see edge.app.auth.pins). Who works here, as far as the old data tells:
   whoever's PIN this store set (the stamp of their PIN cell names it), whoever this store's
   audit trail shows acting or approving, and the owners (they work at every store). Everyone
   else logs in here once an owner or manager here sets their PIN.
2. waits for the secrets to leave the people document: the relay erases them once every store of
   the org with an appliance has moved its own (cloud.relay.pins), so an appliance not yet
   upgraded keeps logging its staff in meanwhile. An appliance with no relay erases them itself.
3. **purges** its own copy: the people document's log and segments still hold the erased bytes,
   so they are replaced by one snapshot of the document as it is now (Yjs keeps no content of a
   deleted value), in a transaction that zeroes what it deletes (``secure_delete``).

Step 1 runs once (``meta`` ``pins_migrated_ms``); steps 2-3 while ``pins_purge_pending`` is set,
checked at start and after every commit (the pull that brings the relay's erasure is one).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

import pycrdt

from edge.app.audit import audit
from edge.app.auth.pins import ensure_pin_key, write_pin
from edge.app.context import Edge
from edge.store.documents import deflate_segment, load_doc
from edge.store.projection import project_doc
from edge.store.writer import WriteTx
from shared.legacy_pins import UNSTAMPED, erase_pin_secrets, holds_pin_secrets, legacy_pins
from shared.schemas.documents import StorePin, people_doc

log = logging.getLogger("fynlo.pins")
MIGRATED = "pins_migrated_ms"
PURGE_PENDING = "pins_purge_pending"


class PinMigration:
    """One per process: ``start`` before serving, then ``on_commit`` after every commit."""

    def __init__(self, edge: Edge) -> None:
        self._edge = edge
        self._people = people_doc(edge.org_id)
        self._pending = False

    def start(self) -> None:
        """Move this store's verifiers (once), and purge now if the secrets are gone."""
        writer = self._edge.store.writer
        if _meta(self._edge, MIGRATED) is None:
            writer.call(self._move)
        self._pending = _meta(self._edge, PURGE_PENDING) is not None
        if self._pending:
            self._pending = not writer.call(self._purge)

    def on_commit(self, _events: object = None) -> None:
        """After a commit (on the writer's thread): purge once the relay erased the secrets."""
        if not self._pending or self._secrets_projected():
            return
        self._pending = False  # one purge at a time; it sets this back if it could not run
        future = self._edge.store.writer.submit(self._purge, lead=False)
        future.add_done_callback(self._purged)

    def _purged(self, future: Future[bool]) -> None:
        try:
            self._pending = not future.result()
        except Exception:  # the store stopping, a disk error: try again after the next commit
            log.exception("purging the old PIN secrets failed")
            self._pending = True

    def _secrets_projected(self) -> bool:
        conn = self._edge.store.read
        pepper = conn.execute(
            "SELECT 1 FROM doc_values WHERE doc_id = ? AND collection = 'meta'"
            " AND key = 'pin_pepper'",
            (self._people,),
        ).fetchone()
        tagged = conn.execute("SELECT 1 FROM employees WHERE pin_tag IS NOT NULL").fetchone()
        return pepper is not None or tagged is not None

    def _move(self, tx: WriteTx) -> None:
        edge = self._edge
        if not _initialised(tx, edge):
            return  # an empty store (being enrolled): its first start with data moves them
        doc = load_doc(tx.conn, self._people)
        here = _works_here(tx, edge, legacy_pins(doc))
        if here:
            ensure_pin_key(tx, edge.store_id)
            for employee_id, pin_hash in sorted(here.items()):
                write_pin(tx, edge.store_id, StorePin(id=employee_id, pin_hash=pin_hash))
            detail = {"moved": len(here)}
            audit(tx, edge, None, "pins.migrate", "store", edge.store_id, detail=detail)
        marks = [(MIGRATED, str(tx.at_ms))]
        if holds_pin_secrets(doc):
            marks.append((PURGE_PENDING, "1"))
        tx.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", marks)

    def _purge(self, tx: WriteTx) -> bool:
        """Rewrite the people document's history without the secrets; False while the relay has
        not erased them yet."""
        edge, doc_id = self._edge, self._people
        doc = load_doc(tx.conn, doc_id)
        enrolled = _meta_tx(tx, "relay_url") is not None
        if holds_pin_secrets(doc):
            if enrolled:
                return False  # the relay erases them once every store has moved its own
            with doc.transaction():
                erase_pin_secrets(doc)  # the only replica: it erases them itself
        rewrite_history(tx, doc_id, doc, enrolled)
        edge.store.writer.docs.evict(doc_id)  # the live copy reloads from the new history
        tx.conn.execute(
            "DELETE FROM doc_values WHERE doc_id = ? AND collection = 'meta'"
            " AND key = 'pin_pepper'",
            (doc_id,),
        )
        project_doc(tx.conn, doc_id, doc, tx.at_ms)  # employees' rows without their old verifiers
        tx.conn.execute("DELETE FROM meta WHERE key = ?", (PURGE_PENDING,))
        log.info("purged the old PIN secrets from %s", doc_id)
        return True


def rewrite_history(tx: WriteTx, doc_id: str, doc: pycrdt.Doc, enrolled: bool) -> None:
    """Replace a document's log and segments by one snapshot of ``doc``, zeroing the old bytes.

    The snapshot takes the last seq, so seqs still only grow. On an enrolled appliance with
    nothing of its own left to push, the relay holds all of it: it is marked pushed (else it is
    pushed whole, as any unpushed segment).
    """
    conn = tx.conn
    top = conn.execute(
        "SELECT max(s) FROM (SELECT max(upto_seq) AS s FROM crdt_segment WHERE doc_id = ?1"
        " UNION ALL SELECT max(seq) FROM crdt_update WHERE doc_id = ?1)",
        (doc_id,),
    ).fetchone()[0]
    if top is None:
        return
    pushed = conn.execute(
        "SELECT pushed_seq FROM sync_state WHERE doc_id = ?", (doc_id,)
    ).fetchone()
    pushed_seq = pushed[0] if pushed else 0
    own_unpushed = conn.execute(
        "SELECT 1 FROM crdt_update WHERE doc_id = ?1 AND origin = 'local' AND seq > ?2"
        " UNION ALL SELECT 1 FROM crdt_segment WHERE doc_id = ?1 AND upto_seq > ?2",
        (doc_id, pushed_seq),
    ).fetchone()
    snapshot = doc.get_update()
    conn.execute("PRAGMA secure_delete = ON")  # what the deletes free is overwritten with zeros
    try:
        conn.execute("DELETE FROM crdt_update WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM crdt_segment WHERE doc_id = ?", (doc_id,))
    finally:
        conn.execute("PRAGMA secure_delete = OFF")
    conn.execute(
        "INSERT INTO crdt_segment (doc_id, upto_seq, body, raw_size, at_ms) VALUES (?, ?, ?, ?, ?)",
        (doc_id, top, deflate_segment(snapshot), len(snapshot), tx.at_ms),
    )
    if enrolled and own_unpushed is None:
        conn.execute(
            "INSERT INTO sync_state (doc_id, pushed_seq) VALUES (?, ?) ON CONFLICT (doc_id)"
            " DO UPDATE SET pushed_seq = max(pushed_seq, excluded.pushed_seq)",
            (doc_id, top),
        )


def _works_here(tx: WriteTx, edge: Edge, found: dict[str, Any]) -> dict[str, str]:
    """employee id -> PIN hash, of the legacy verifiers of the staff who work at this store."""
    acted = {
        r[0]
        for r in tx.conn.execute(
            "SELECT actor_id FROM audit WHERE actor_id IS NOT NULL"
            " UNION SELECT approved_by FROM audit WHERE approved_by IS NOT NULL"
        )
    }
    owners = {r[0] for r in tx.conn.execute("SELECT id FROM employees WHERE role = 'owner'")}
    has_pin = {r[0] for r in tx.conn.execute("SELECT id FROM store_pins")}
    here = {}
    for employee_id, legacy in found.items():
        set_here = legacy.replica == edge.store_id or legacy.replica in UNSTAMPED
        if employee_id in has_pin:
            continue  # already has a PIN of this store's own (set at enrollment)
        if set_here or employee_id in acted or employee_id in owners:
            here[employee_id] = legacy.pin_hash
    return here


def _initialised(tx: WriteTx, edge: Edge) -> bool:
    row = tx.conn.execute(
        "SELECT 1 FROM doc_values WHERE doc_id = ? AND collection = 'settings' LIMIT 1",
        (edge.settings_doc,),
    ).fetchone()
    return row is not None


def _meta_tx(tx: WriteTx, key: str) -> str | None:
    row = tx.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _meta(edge: Edge, key: str) -> str | None:
    row = edge.store.read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])
