"""Retiring the org-wide PIN secrets of older people documents, once every store has its own.

Older versions kept the org's PIN pepper and every employee's PIN tag and hash in the org's people
document, which every appliance of the org and this relay held: any of them could work out every
PIN of the org. Each appliance now moves the verifiers of its own staff into its store's document
(``store/{store}/pins``) on its first start with the new version (edge.app.pin_migration). Once
every store of the org with an active appliance has done so (its PIN document is here), this
erases the pepper and the verifiers from the people document and rewrites the document's stored
history as one snapshot without them (``Storage.rewrite_history``): what the relay keeps of the
people document then holds no PIN secret, and appliances pull the erasure and purge their copies.
Waiting keeps an appliance that is not upgraded yet logging its staff in meanwhile; an owner
retires a store's appliance that will never be upgraded (``fynlo-relay device revoke``) to let
its org's secrets go.

Checked once at start and every ``interval_s`` for the orgs not known to be clean: an org is clean
for good once its people document holds no secret (new orgs never get one: stores mint their
own keys).
"""

from __future__ import annotations

import asyncio
import logging

import pycrdt

from cloud.relay.shadows import Shadows
from cloud.relay.storage.base import Storage
from shared.ids import now_ms
from shared.legacy_pins import erase_pin_secrets, holds_pin_secrets
from shared.schemas.documents import people_doc, pins_doc
from shared.tasks import cancel_and_wait

log = logging.getLogger("fynlo.relay.pins")


class PinRetirer:
    """One per relay process; ``start``/``stop`` around the app's lifetime."""

    def __init__(self, storage: Storage, shadows: Shadows, interval_s: float) -> None:
        self._storage = storage
        self._shadows = shadows
        self._interval_s = interval_s
        self._clean: set[str] = set()  # orgs whose people document holds no PIN secret
        self._task: asyncio.Task[None] | None = None
        self.retired = 0

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("PIN retirer already started")
        self._task = asyncio.create_task(self._run(), name="pin-retirer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def run_once(self) -> int:
        """One look at every org not known clean; how many had their secrets retired now."""
        done = 0
        for org in await self._storage.list_orgs():
            if org.id not in self._clean and await self.retire(org.id):
                done += 1
        return done

    async def retire(self, org_id: str) -> bool:
        """Erase the org's PIN secrets if every store with an appliance has its own PINs now."""
        doc_id = people_doc(org_id)
        async with self._shadows.use(doc_id) as shadow:
            if not holds_pin_secrets(shadow.doc):
                self._clean.add(org_id)
                return False
            if not await self._stores_moved(org_id):
                return False
            # A copy, so the shadow stays level with storage whatever the rewrite answers.
            copy = pycrdt.Doc()
            copy.apply_update(shadow.doc.get_update())
            with copy.transaction():
                erased = erase_pin_secrets(copy)
            snapshot = copy.get_update()  # garbage collected: no content of erased values
            rewritten = await self._storage.rewrite_history(doc_id, shadow.head, snapshot, now_ms())
        self._shadows.drop(doc_id)  # the next use reloads the rewritten history
        if not rewritten:
            return False  # something was appended meanwhile: the next pass tries again
        self._clean.add(org_id)
        self.retired += 1
        log.info("retired the org-wide PIN secrets of %s (%d cells)", doc_id, erased)
        return True

    async def _stores_moved(self, org_id: str) -> bool:
        stores = {
            d.store_id for d in await self._storage.list_devices(org_id) if d.revoked_at_ms is None
        }
        if not stores:
            return True  # no appliance is left to log anyone in with the old secrets
        held = {h.doc_id for h in await self._storage.heads([pins_doc(s) for s in stores])}
        return all(pins_doc(s) in held for s in stores)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup: log it and try again next pass
                log.exception("retiring PIN secrets failed")
            await asyncio.sleep(self._interval_s)
