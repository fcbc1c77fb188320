"""The relay's storage: one small abstract class, two backends (SQLite, PostgreSQL).

The relay is a store-and-forward log. Per document it keeps an append-only log of Yjs updates,
numbered by a per-document ``seq`` (1, 2, 3, ...) and unique by content hash, segments (runs of
the log merged by compaction, whose rows are then gone, see ``merge.Segment``) and the state
vector of what it holds, which every append brings up to date.
Beside the documents it keeps who may sync: orgs, stores, owner accounts, one-time enrollment
codes and the device credentials they were exchanged for (one active appliance a store: see
``devices``).

Every method is one transaction. Backends work as ``async with storage:`` and as
``await start()`` / ``await stop()``, and refuse to start twice.

StorageError
 ├── NotFound        an org, store or device that does not exist
 └── Conflict        a unique value already taken (an owner's email)
      └── ApplianceActive   a plain enrollment code for a store whose appliance is active
"""

from __future__ import annotations

import abc
from types import TracebackType

import msgspec

from cloud.relay.storage.merge import Segment
from shared.schemas.sync import DocHead, PulledDoc, PushAck, Update
from shared.throttle import Backoff


class StorageError(Exception):
    """Base of the storage layer's errors."""


class NotFound(StorageError):
    pass


class Conflict(StorageError):
    pass


class ApplianceActive(Conflict):
    """The store already has an unrevoked appliance, and the code does not replace it."""


class Org(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    created_at_ms: int


class Store(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    name: str
    created_at_ms: int


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    email: str  # stored lower-case
    password_hash: str  # Argon2
    created_at_ms: int


class Device(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    store_id: str
    name: str
    enrolled_at_ms: int
    revoked_at_ms: int | None = None


class Storage(abc.ABC):
    """What the relay needs from a database."""

    _started = False

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("storage already started")
        await self._open()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._close()
            self._started = False

    async def __aenter__(self) -> Storage:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @abc.abstractmethod
    async def _open(self) -> None:
        """Connect and migrate (schema version kept by the backend, forward-only)."""

    @abc.abstractmethod
    async def _close(self) -> None: ...

    # --- documents ------------------------------------------------------------------------------

    @abc.abstractmethod
    async def append(
        self, doc_id: str, updates: list[Update], at_ms: int, state_vector: bytes | None = None
    ) -> PushAck:
        """Append the updates not held yet (by hash), in order; one transaction, idempotent.

        ``state_vector``: what the relay holds once they are appended (from its shadow of the
        document); merged into the stored one and answered in the ack.
        """

    @abc.abstractmethod
    async def pull(self, doc_id: str, cursor: int, limit: int) -> PulledDoc:
        """What follows ``cursor``: the segments ending after it first, then log rows with
        ``seq`` above the last of them, ``limit`` entries in all; ``cursor`` of the answer is the
        last seq sent, ``more`` when entries remain. An unknown document answers empty."""

    @abc.abstractmethod
    async def heads(self, prefixes: list[str]) -> list[DocHead]:
        """Every document whose id starts with one of ``prefixes``, with its head seq."""

    @abc.abstractmethod
    async def state_vectors(self, doc_ids: list[str]) -> dict[str, tuple[int, bytes | None]]:
        """(head, stored state vector) of each known document among ``doc_ids`` (the vector is
        None for a document stored before the relay kept them)."""

    @abc.abstractmethod
    async def doc_bytes(self, doc_id: str) -> int:
        """Bytes the document takes: its segments and its log."""

    @abc.abstractmethod
    async def long_logs(self, min_updates: int, before_ms: int, limit: int) -> list[str]:
        """Documents holding at least ``min_updates`` log rows appended before ``before_ms``,
        the longest first (at most ``limit``): what is worth compacting now."""

    async def compact(self, doc_id: str, at_ms: int, before_ms: int | None = None) -> bool:
        """Fold the oldest run of log rows appended before ``before_ms`` (all when None) into a
        new segment: at most ``merge.SEGMENT_UPDATES`` rows and about ``SEGMENT_BYTES``.

        The merge is computed outside any write; the swap is one transaction that gives up
        (False) when another compaction added a segment in between. Pushes never conflict with
        it: they only add rows after the folded run. False too when there is nothing to fold.
        """
        segment = await self.build_segment(doc_id, before_ms)
        return segment is not None and await self.swap_segment(doc_id, segment, at_ms)

    @abc.abstractmethod
    async def build_segment(self, doc_id: str, before_ms: int | None = None) -> Segment | None:
        """The next segment ``compact`` folds, merged off the event loop; None when no row
        qualifies."""

    @abc.abstractmethod
    async def swap_segment(self, doc_id: str, segment: Segment, at_ms: int) -> bool:
        """Store ``segment`` and drop the rows it folds, unless a segment was added since it was
        built (False)."""

    @abc.abstractmethod
    async def rewrite_history(
        self, doc_id: str, expected_head: int, body: bytes, at_ms: int
    ) -> bool:
        """Make ``body`` (a snapshot) the document's whole stored history at head
        ``expected_head + 1``, the old rows and segments gone for good; False, changing nothing,
        when the head is no longer ``expected_head`` (see ``rewrite``)."""

    # --- who may sync ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_org(self, org_id: str, name: str, at_ms: int) -> Org: ...

    @abc.abstractmethod
    async def get_org(self, org_id: str) -> Org:
        """Raises NotFound."""

    @abc.abstractmethod
    async def list_orgs(self) -> list[Org]: ...

    @abc.abstractmethod
    async def create_store(self, store_id: str, org_id: str, name: str, at_ms: int) -> Store:
        """Raises NotFound for an unknown org."""

    @abc.abstractmethod
    async def get_store(self, store_id: str) -> Store:
        """Raises NotFound."""

    @abc.abstractmethod
    async def list_stores(self, org_id: str) -> list[Store]: ...

    @abc.abstractmethod
    async def create_owner(
        self, owner_id: str, org_id: str, email: str, password_hash: str, at_ms: int
    ) -> Owner:
        """Raises NotFound for an unknown org, Conflict for an email already used."""

    @abc.abstractmethod
    async def owner_by_email(self, email: str) -> Owner | None: ...

    @abc.abstractmethod
    async def list_owners(self, org_id: str) -> list[Owner]:
        """The org's owner accounts, by id."""

    @abc.abstractmethod
    async def take_login(self, key: str, now_ms: int, rule: Backoff) -> int:
        """Reserve a password attempt for ``key``: 0, or the milliseconds to wait first (see
        ``logins``)."""

    @abc.abstractmethod
    async def undo_login(self, key: str) -> None:
        """The attempt reserved for ``key`` succeeded: it is no failure."""

    @abc.abstractmethod
    async def claim_clients(
        self, doc_id: str, writer: str, client_ids: list[int]
    ) -> dict[int, str]:
        """Claim Yjs client ids of a document for a writer (a store id) where none is claimed;
        the claims on them after (see ``clients``)."""

    @abc.abstractmethod
    async def add_enrollment_code(
        self, code_hash: str, store_id: str, expires_at_ms: int, *, replace: bool = False
    ) -> None:
        """Remember a one-time code (only its hash) for a store; ``replace``: redeeming it
        retires the store's active appliance."""

    @abc.abstractmethod
    async def redeem_enrollment_code(
        self, code_hash: str, now_ms: int, device_id: str, device_name: str, token_hash: str
    ) -> Device | None:
        """Atomically use an unexpired, unused code and create the device it enrolls; None when
        the code is unknown, used or expired (the same answer for all three).

        Raises ApplianceActive, leaving the code unused, for a plain code of a store that has an
        unrevoked device; a replacement code revokes them in the same transaction."""

    @abc.abstractmethod
    async def device_by_token(self, token_hash: str) -> Device | None:
        """The unrevoked device holding this credential."""

    @abc.abstractmethod
    async def get_device(self, device_id: str) -> Device:
        """Raises NotFound."""

    @abc.abstractmethod
    async def list_devices(self, org_id: str, store_id: str | None = None) -> list[Device]:
        """The devices of an org, or of one of its stores, revoked ones too, oldest first."""

    @abc.abstractmethod
    async def revoke_device(self, device_id: str, at_ms: int) -> None:
        """Raises NotFound."""
