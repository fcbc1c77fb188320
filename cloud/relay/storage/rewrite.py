"""Replacing a document's whole stored history by one snapshot: written once for both backends.

The log and segments are append-only and merged with ``merge_updates``, which keeps the content
of deleted values. That is right for sales and wrong for a secret that must go: once erased from
the document, the org's old PIN pepper and verifiers must also leave the bytes the relay keeps
(cloud.relay.pins). ``rewrite`` swaps every segment and log row of a document for one segment,
a snapshot of the document with garbage collection (no content of deleted values), at a new
head ``expected_head + 1``: an appliance at the old head pulls it as "new" and, sending its state
vector, gets only what it lacks (here: the deletions). The folded rows' hashes stay known, so a
late re-push of one is still a duplicate. One transaction that gives up (False) when anything was
appended since the snapshot was made.
"""

from __future__ import annotations

from cloud.relay.storage.devices import Plan, Step


def rewrite(doc_id: str, expected_head: int, body: bytes, at_ms: int) -> Plan[bool]:
    """Make ``body`` the document's whole history, unless its head moved from ``expected_head``."""
    doc = {"doc": doc_id}
    rows = yield Step("SELECT head FROM doc_heads WHERE doc_id = :doc", doc, lock=True)
    if not rows or rows[0][0] != expected_head:
        return False
    head = expected_head + 1
    yield Step(
        "INSERT INTO doc_folded (doc_id, hash) SELECT doc_id, hash FROM doc_updates"
        " WHERE doc_id = :doc ON CONFLICT DO NOTHING",
        doc,
    )
    yield Step("DELETE FROM doc_updates WHERE doc_id = :doc", doc)
    yield Step("DELETE FROM doc_segments WHERE doc_id = :doc", doc)
    yield Step(
        "INSERT INTO doc_segments (doc_id, upto_seq, body, at_ms) VALUES (:doc, :head, :body, :at)",
        {**doc, "head": head, "body": body, "at": at_ms},
    )
    yield Step("UPDATE doc_heads SET head = :head WHERE doc_id = :doc", {**doc, "head": head})
    return True
