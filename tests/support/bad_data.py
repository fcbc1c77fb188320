"""Malformed entries written straight into a relay's storage, past any check of pushes: what
older data or a bug may have left there, for tests of how every reader copes."""

from __future__ import annotations

from collections.abc import Callable

import pycrdt

from cloud.relay.storage.base import Storage
from shared.ids import now_ms
from shared.schemas.sync import Update, update_hash
from tests.relay.support import RelayServer
from tests.support.shop import relay_doc


def plant(relay: RelayServer, doc_id: str, edit: Callable[[pycrdt.Doc], None]) -> None:
    """Append an edit of ``doc_id``, made on a replica level with the relay, to its storage
    directly (a running relay's shadows catch up with storage on their next use; the stored state
    vector takes the edit in, so no appliance pushes it back as something the relay lacks)."""
    replica = relay_doc(relay, doc_id)
    base = replica.get_state()
    with replica.transaction():
        edit(replica)
    body = replica.get_update(base)

    async def append(storage: Storage) -> None:
        update = Update(hash=update_hash(body), body=body)
        await storage.append(doc_id, [update], now_ms(), pycrdt.get_state(body))

    relay.storage(append)
