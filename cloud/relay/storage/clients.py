"""Which store writes under which Yjs client id of a shared document: written once for both
backends.

A Yjs client id is a writer's name in a document, and its clocks are that writer's sequence. The
org's catalog and people documents are written by every store's appliance; if one could write
under another's client id, at clocks the other has not used yet, the other's later edits would
land as "already held" and vanish. So the first store to write under a client id of a document
claims it, and a push naming a client id another store claimed is refused. A store, not a device:
a replacement appliance restored from the old one's backup pushes what the old one wrote.
Appliances take new client ids at every start, so claims grow by a few rows per start.

The steps are plain data, as in ``devices``: each backend runs them with its own ``run_plan``.
"""

from __future__ import annotations

from cloud.relay.storage.devices import Plan, Step

# Forward-only migration 5, the same text on both backends.
MIGRATION = """
CREATE TABLE doc_clients (
    doc_id text NOT NULL, client_id bigint NOT NULL, writer text NOT NULL,
    PRIMARY KEY (doc_id, client_id));
"""


def claim(doc_id: str, writer: str, clients: list[int]) -> Plan[dict[int, str]]:
    """Claim ``clients`` of ``doc_id`` for ``writer`` (a store id) where no one has; every claim
    on them after (client id -> writer)."""
    claims: dict[int, str] = {}
    for client in sorted(clients):  # one order, so concurrent claims lock rows alike
        params = {"doc": doc_id, "client": client, "writer": writer}
        yield Step(
            "INSERT INTO doc_clients (doc_id, client_id, writer)"
            " VALUES (:doc, :client, :writer) ON CONFLICT (doc_id, client_id) DO NOTHING",
            params,
        )
        ((owner,),) = yield Step(
            "SELECT writer FROM doc_clients WHERE doc_id = :doc AND client_id = :client",
            params,
        )
        claims[client] = owner
    return claims
