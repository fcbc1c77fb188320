"""The relay's storage: one small abstract class, two backends (SQLite, PostgreSQL).

The relay is a store-and-forward log. Per document it keeps an append-only log of Yjs updates,
numbered by a per-document ``seq`` (1, 2, 3, ...) and unique by content hash, plus at most one
snapshot: the merge of every update up to ``snapshot_seq``, after which those log rows are gone.
Beside the documents it keeps who may sync: orgs, stores, owner accounts, one-time enrollment
codes and the device credentials they were exchanged for.

Every method is one transaction. Backends work as ``async with storage:`` and as
``await start()`` / ``await stop()``, and refuse to start twice.

StorageError
 ├── NotFound        an org, store or device that does not exist
 └── Conflict        a unique value already taken (an owner's email)
"""

from __future__ import annotations

import abc
from types import TracebackType

import msgspec

from cloud.relay.storage.merge import Snapshot
from shared.schemas.sync import DocHead, PulledDoc, PushAck, Update


class StorageError(Exception):
    """Base of the storage layer's errors."""


class NotFound(StorageError):
    pass


class Conflict(StorageError):
    pass


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
    async def append(self, doc_id: str, updates: list[Update], at_ms: int) -> PushAck:
        """Append the updates not held yet (by hash), in order; one transaction, idempotent."""

    @abc.abstractmethod
    async def pull(self, doc_id: str, cursor: int, limit: int) -> PulledDoc:
        """What follows ``cursor``: the snapshot first when ``cursor`` is below it, then updates
        with ``seq > cursor`` (at most ``limit``); ``cursor`` of the answer is the last seq sent
        (or the snapshot's), ``more`` when updates remain. An unknown document answers empty."""

    @abc.abstractmethod
    async def heads(self, prefixes: list[str]) -> list[DocHead]:
        """Every document whose id starts with one of ``prefixes``, with its head seq."""

    @abc.abstractmethod
    async def long_logs(self, min_updates: int, before_ms: int, limit: int) -> list[str]:
        """Documents holding at least ``min_updates`` log rows appended before ``before_ms``,
        the longest first (at most ``limit``): what is worth compacting now."""

    async def compact(self, doc_id: str, at_ms: int, before_ms: int | None = None) -> bool:
        """Fold the log rows appended before ``before_ms`` (all when None) into the snapshot.

        A prefix of the log is folded: the first rows up to the last one older than
        ``before_ms``. The merge is computed outside any write; the swap is one transaction that
        gives up (False) when another compaction swapped in between. Pushes never conflict with
        it: they only add rows after the folded prefix. False too when there is nothing to fold.
        """
        snapshot = await self.build_snapshot(doc_id, before_ms)
        return snapshot is not None and await self.swap_snapshot(doc_id, snapshot, at_ms)

    @abc.abstractmethod
    async def build_snapshot(self, doc_id: str, before_ms: int | None = None) -> Snapshot | None:
        """The snapshot merged with the log prefix ``compact`` folds, built off the event loop;
        None when no row qualifies."""

    @abc.abstractmethod
    async def swap_snapshot(self, doc_id: str, snapshot: Snapshot, at_ms: int) -> bool:
        """Store ``snapshot`` and drop the rows it folds, unless the snapshot it was built on
        has been replaced since (False)."""

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
    async def add_enrollment_code(self, code_hash: str, store_id: str, expires_at_ms: int) -> None:
        """Remember a one-time code (only its hash) for a store."""

    @abc.abstractmethod
    async def redeem_enrollment_code(
        self, code_hash: str, now_ms: int, device_id: str, device_name: str, token_hash: str
    ) -> Device | None:
        """Atomically use an unexpired, unused code and create the device it enrolls; None when
        the code is unknown, used or expired (the same answer for all three)."""

    @abc.abstractmethod
    async def device_by_token(self, token_hash: str) -> Device | None:
        """The unrevoked device holding this credential."""

    @abc.abstractmethod
    async def revoke_device(self, device_id: str, at_ms: int) -> None:
        """Raises NotFound."""
