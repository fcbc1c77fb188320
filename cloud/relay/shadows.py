"""The relay's shadows: a live copy of each document it stores, kept level with storage.

Every push is applied to the shadow of its document before anything is stored: an update that
builds on something the relay does not hold is refused there (it would sit pending in every
replica, unchecked), and the shadow's state vector afterwards is stored beside the log, so an
appliance can check with one cheap request that the relay holds everything it wrote. The owner's
edits are made on the shadow too, and the owner's reads come from it.

A shadow is loaded from storage on first use and kept, least recently used first out, within a
byte budget. Before each use it catches up with what other relay processes appended (PostgreSQL).
One user at a time per document (an asyncio lock); applying large updates runs on a worker
thread. A shadow whose push or edit failed after being applied is dropped: it may hold what
storage does not.

ShadowError
 ├── Unreadable    an update that cannot be applied at all
 └── Incomplete    an update builds on updates the relay does not hold (or deletes what it
                  does not hold)
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
import pycrdt

from cloud.relay.storage.base import Storage
from shared.schemas.sync import PushAck, Update, decode_state_vector, delete_set_ends

PAGE = 1000  # rows read per storage call while catching up
INLINE_BYTES = 64 * 1024  # larger updates are applied on a worker thread


class ShadowError(Exception):
    """Base of the refusals of a push by the shadow of its document."""


class Unreadable(ShadowError):
    """An update the CRDT library cannot apply at all (bytes no Yjs writer makes)."""

    def __init__(self, doc_id: str, index: int, reason: str) -> None:
        super().__init__(f"update {index} of {doc_id} cannot be applied: {reason}")
        self.doc_id, self.index = doc_id, index


class Incomplete(ShadowError):
    """An update whose structs do not all integrate: it builds on updates the relay lacks."""

    def __init__(self, doc_id: str, index: int) -> None:
        super().__init__(f"update {index} of {doc_id} builds on updates the relay does not hold")
        self.doc_id, self.index = doc_id, index


@dataclass
class Shadow:
    """A document as storage holds it up to ``head``."""

    doc_id: str
    doc: pycrdt.Doc
    head: int = 0
    size: int = 0  # bytes applied: what the budget counts

    async def apply(self, body: bytes) -> None:
        """Apply an update, off the event loop when it is large."""
        if len(body) > INLINE_BYTES:
            await anyio.to_thread.run_sync(self.doc.apply_update, body)
        else:
            self.doc.apply_update(body)
        self.size += len(body)

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def follow(self, ack: PushAck) -> None:
        """Storage appended what this shadow holds: move its head along, unless another relay
        process appended in between (then the next use catches up)."""
        if ack.head - ack.accepted == self.head:
            self.head = ack.head


def integrates(doc: pycrdt.Doc, body: bytes) -> bool:
    """Whether an update already applied to ``doc`` was integrated whole: every struct, and
    every deletion it makes is of an item ``doc`` holds.

    What ``doc`` lacks of the update, as an update: its first varint counts the clients with
    structs in it, so 0 means no struct is left pending. A deletion of an item not held yet
    would wait in every replica and delete that item on arrival, unseen by any check: a device
    could delete another's payment before it reached the relay.
    """
    state = doc.get_state()
    lacking = pycrdt.get_update(body, state)
    if lacking[0] != 0:
        return False
    held = decode_state_vector(state)
    return all(end <= held.get(client, 0) for client, end in delete_set_ends(lacking).items())


class Shadows:
    """Every shadow of this relay process."""

    def __init__(self, storage: Storage, client_id: int, budget_bytes: int = 256 << 20) -> None:
        self._storage = storage
        self._client_id = client_id  # the owner's edits are made under this Yjs client id
        self._budget = budget_bytes
        self._docs: OrderedDict[str, Shadow] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def use(self, doc_id: str) -> AsyncIterator[Shadow]:
        """The document's shadow, level with storage, for this task alone; dropped on error."""
        lock = self._locks.get(doc_id)
        if lock is None:
            lock = self._locks[doc_id] = asyncio.Lock()
        async with lock:
            shadow = self._docs.pop(doc_id, None)
            if shadow is None:
                doc = pycrdt.Doc(client_id=self._client_id, allow_multithreading=True)
                shadow = Shadow(doc_id, doc)
            self._docs[doc_id] = shadow  # most recently used last
            try:
                await self._catch_up(shadow)
                yield shadow
            except BaseException:
                self.drop(doc_id)
                raise
            finally:
                self._trim()

    def drop(self, doc_id: str) -> None:
        """Forget a shadow; the next use loads it again from storage."""
        self._docs.pop(doc_id, None)

    async def admit(self, shadow: Shadow, updates: list[Update]) -> None:
        """Apply pushed updates to ``shadow``; Incomplete when one cannot integrate."""
        for n, update in enumerate(updates):
            try:
                await shadow.apply(update.body)
            except Exception as exc:  # pycrdt raises several kinds for bytes it cannot apply
                raise Unreadable(shadow.doc_id, n, str(exc) or type(exc).__name__) from exc
            if not integrates(shadow.doc, update.body):
                raise Incomplete(shadow.doc_id, n)

    async def _catch_up(self, shadow: Shadow) -> None:
        while True:
            page = await self._storage.pull(shadow.doc_id, shadow.head, PAGE)
            for update in page.updates:
                await shadow.apply(update.body)
            shadow.head = page.cursor
            if not page.more:
                return

    def _trim(self) -> None:
        total = sum(s.size for s in self._docs.values())
        while total > self._budget and len(self._docs) > 1:
            _, oldest = self._docs.popitem(last=False)
            total -= oldest.size
