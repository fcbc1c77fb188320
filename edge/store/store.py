"""The store of one appliance: its SQLite file, the single writer, readers and checkpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import apsw

from edge.store.background import checkpointer
from edge.store.compaction import compactor
from edge.store.db import Readers, connect, db_path
from edge.store.errors import NotInitialised
from edge.store.migrations import migrate
from edge.store.writer import Writer
from shared.datadir import private_dir
from shared.ids import now_ms

CHECKPOINT_IDLE_S = 0.2
CHECKPOINT_MAX_PAGES = 1024  # ~4 MB of WAL: copy it over even in a rush that never pauses, so
# the writer, which restarts the WAL past WAL_RESTART_PAGES, finds little left to copy
# In such a rush, at most one checkpoint a second: each ends with an fsync of the database file,
# which stalls the writer's WAL appends for milliseconds (seen as 3-10 ms commits). A rush never
# lets a checkpoint catch up and restart the WAL anyway, so more frequent ones only add stalls.
CHECKPOINT_RUSH_INTERVAL_S = 0.5
TRUNCATE_IDLE_S = 1.0
WAL_IDLE_BYTES = 1 << 20  # a WAL file larger than this is cut back in a long lull
WAL_RESTART_PAGES = 12288  # ~48 MB: the WAL never grows much past this (see Writer._restart_wal)


class Store:
    """Everything that touches ``edge.db``; works as ``async with``/``with`` or start()/stop()."""

    def __init__(
        self,
        data_dir: Path,
        clock: Callable[[], int] = now_ms,
        on_commit: Callable[[list[tuple[str, Any]]], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.path = db_path(data_dir)
        self._wal = self.path.with_name(self.path.name + "-wal")
        self.clock = clock
        self.writer = Writer(self.path, clock, on_commit, wal_restart_pages=WAL_RESTART_PAGES)
        self.readers = Readers(self.path)
        self._checkpointer = checkpointer(self.path, interval_s=0.1, due=self._checkpoint_due)
        self._compactor = compactor(self.path, self.writer)
        self._checkpointed_pages = 0
        self._checkpointed_at = 0.0  # time.monotonic() of the last checkpoint asked for
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("store already started")
        if not self.path.exists():
            raise NotInitialised(f"no store in {self.data_dir}: run `fynlo-edge init` first")
        conn = connect(self.path, writer=True)
        try:
            migrate(conn)
            # A new Yjs client id per document on every start. A file restored from a backup
            # would otherwise go on writing under ids whose later clocks the relay already holds
            # with other content, and Yjs would drop one side as "already seen": a lost sale.
            # Within a run the ids stay pinned (reloads, compaction).
            with conn:
                conn.execute("DELETE FROM crdt_client")
        finally:
            conn.close()
        self.writer.start()
        self._checkpointer.start()
        self._compactor.start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._compactor.stop()
        self.writer.stop()
        self._checkpointer.stop()
        self.readers.close()
        self._started = False

    def __enter__(self) -> Store:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Store:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _checkpoint_due(self) -> str | None:
        """Checkpoint in a lull between sales, or now and then when the WAL has grown large; a
        long lull also gives back the space a rush made the WAL file take."""
        pages = self.writer.wal_pages
        now = time.monotonic()
        idle_s = self.writer.idle_s()
        lull = pages != self._checkpointed_pages and idle_s >= CHECKPOINT_IDLE_S
        rush = (
            pages >= CHECKPOINT_MAX_PAGES
            and now - self._checkpointed_at >= CHECKPOINT_RUSH_INTERVAL_S
        )
        if lull or rush:
            self._checkpointed_pages, self._checkpointed_at = pages, now
            return "PASSIVE"
        if idle_s >= TRUNCATE_IDLE_S and _size(self._wal) > WAL_IDLE_BYTES:
            return "TRUNCATE"
        return None

    @property
    def read(self) -> apsw.Connection:
        """This thread's read connection (sees every committed write)."""
        return self.readers.get()

    def meta(self, key: str) -> str:
        row = self.read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NotInitialised(f"store has no {key!r}: run `fynlo-edge init` first")
        return str(row[0])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def create(data_dir: Path) -> Path:
    """Create the data directory and an empty, migrated store file."""
    private_dir(data_dir)
    path = db_path(data_dir)
    conn = connect(path, writer=True)
    try:
        migrate(conn)
    finally:
        conn.close()
    return path
