"""SQLite connections through apsw: one writer connection, one reader connection per thread."""

from __future__ import annotations

import threading
from pathlib import Path

import apsw

from shared.datadir import private_file

DB_FILENAME = "edge.db"
BUSY_TIMEOUT_MS = 5_000
WAL_KEEP_BYTES = 16 << 20


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILENAME


def connect(path: Path, *, writer: bool) -> apsw.Connection:
    """Open the store file in WAL mode; the writer never checkpoints on its own."""
    if writer:
        private_file(path)  # owner-only, and so are the -wal and -shm files SQLite adds
    conn = apsw.Connection(str(path))
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode is durable against process crashes (the WAL is written before the commit
    # returns) and only loses the last transactions on power loss before the next checkpoint.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # The query planner stability guarantee: one plan per statement whatever its parameters.
    # Without it, statements that seek an index with a parameter and ORDER BY ... LIMIT
    # (``next_number``, on every sale) ran 2-4x slower on each execution, with the very same
    # plan (EXPLAIN QUERY PLAN checked for our queries); our plans never need parameter values.
    conn.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, 1)
    if writer:
        # An automatic checkpoint on the sale path costs 13-18 ms: checkpoints run elsewhere.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # When the WAL starts over, a file grown larger in a rush is cut back to this.
        conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        # A batch's commands each run in a SAVEPOINT, whose journal keeps a copy of every page the
        # command changes; past 64 KiB SQLite spills it to a temporary file (a write to disk per
        # page). The copies of one batch fit in memory.
        conn.execute("PRAGMA temp_store=MEMORY")
    return conn


class Readers:
    """One read-only connection per thread: apsw refuses a connection shared across threads."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[apsw.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> apsw.Connection:
        conn: apsw.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, writer=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def checkpoint(conn: apsw.Connection, mode: str = "PASSIVE") -> bool:
    """A checkpoint; PASSIVE copies what it can without blocking the writer or readers.

    Once a checkpoint has copied the whole WAL, the writer's next transaction restarts the WAL
    from its beginning. TRUNCATE (which waits for readers and holds writers back while it runs)
    also gives the file's space back: only for a lull. True when the whole WAL was copied.
    """
    try:
        busy, frames, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except apsw.BusyError:
        return False
    return not busy and copied >= frames
