"""The relay's storage on one SQLite file through apsw: for a single relay process.

apsw refuses concurrent use of one connection, so each connection lives on a thread of its own: a
writer (every write in ``BEGIN IMMEDIATE``, one at a time) and a reader (each read in one
transaction: a consistent view, thanks to WAL). The event loop only awaits them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import apsw
import msgspec

from cloud.relay.storage import clients, devices, logins, merge, rewrite
from cloud.relay.storage.base import (
    Conflict,
    Device,
    NotFound,
    Org,
    Owner,
    Storage,
    StorageError,
    Store,
)
from shared.datadir import private_dir, private_file
from shared.schemas.sync import (
    DocHead,
    PulledDoc,
    PushAck,
    Update,
    merge_state_vectors,
    update_hash,
)
from shared.throttle import Backoff

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)
BUSY_TIMEOUT_MS = 5_000

# Forward-only: never edit a released migration, append a new one.
_MIGRATIONS = [
    """
    CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
    CREATE TABLE stores (
        id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs (id), name TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL);
    CREATE INDEX stores_org ON stores (org_id);
    CREATE TABLE owners (
        id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs (id), email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
    CREATE TABLE enrollment_codes (
        code_hash TEXT PRIMARY KEY, store_id TEXT NOT NULL REFERENCES stores (id),
        expires_at_ms INTEGER NOT NULL, used_at_ms INTEGER);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs (id),
        store_id TEXT NOT NULL REFERENCES stores (id), name TEXT NOT NULL,
        enrolled_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER, token_hash TEXT NOT NULL UNIQUE);
    CREATE TABLE doc_heads (doc_id TEXT PRIMARY KEY, head INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE doc_updates (
        doc_id TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, body BLOB NOT NULL,
        at_ms INTEGER NOT NULL, PRIMARY KEY (doc_id, seq), UNIQUE (doc_id, hash));
    CREATE TABLE doc_snapshots (
        doc_id TEXT PRIMARY KEY, upto_seq INTEGER NOT NULL, body BLOB NOT NULL,
        state_vector BLOB NOT NULL, at_ms INTEGER NOT NULL);
    -- hashes of updates folded into a snapshot: a late re-push of one stays a duplicate
    CREATE TABLE doc_folded (doc_id TEXT, hash BLOB, PRIMARY KEY (doc_id, hash)) WITHOUT ROWID;
    """,
    # Segments instead of one snapshot rewritten whole (see merge.Segment); each document's state
    # vector, kept current by every append, so an appliance can check it cheaply.
    """
    CREATE TABLE doc_segments (
        doc_id TEXT NOT NULL, upto_seq INTEGER NOT NULL, body BLOB NOT NULL,
        at_ms INTEGER NOT NULL, PRIMARY KEY (doc_id, upto_seq));
    INSERT INTO doc_segments (doc_id, upto_seq, body, at_ms)
        SELECT doc_id, upto_seq, body, at_ms FROM doc_snapshots;
    DROP TABLE doc_snapshots;
    ALTER TABLE doc_heads ADD COLUMN state_vector BLOB;
    """,
    devices.MIGRATION,  # replacement codes; devices by store and org
    logins.MIGRATION,  # owner password failures, per account and client address
    clients.MIGRATION,  # which device writes under which Yjs client id of a document
]


def _migrate(conn: apsw.Connection) -> None:
    """Bring the file to the newest schema; each step lands with its version bump or not at all."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(_MIGRATIONS):
        raise StorageError(
            f"relay schema v{current} is newer than this relay (v{len(_MIGRATIONS)})"
        )
    for version, sql in enumerate(_MIGRATIONS[current:], start=current + 1):
        with conn:
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {version}")


def _struct(cls: type[S], row: Any) -> S:
    """A struct from a row whose columns are in the struct's field order."""
    return cls(**dict(zip(cls.__struct_fields__, row, strict=True)))


def _columns(cls: type[msgspec.Struct]) -> str:
    return ", ".join(cls.__struct_fields__)


class _Thread:
    """One apsw connection and the single thread allowed to use it."""

    def __init__(self, path: Path, name: str, *, writer: bool) -> None:
        self._path = path
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: apsw.Connection | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on the connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, self._conn, *args)

    async def open(self) -> None:
        self._conn = await self.call(lambda _: self._connect())

    def _connect(self) -> apsw.Connection:
        if self._writer:
            private_file(self._path)  # owner-only, and so are the -wal and -shm files
        conn = apsw.Connection(str(self._path))
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only a power loss drops the last commits.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # One plan per statement whatever its parameters (why: edge/store/db.py).
        conn.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, 1)
        if self._writer:
            _migrate(conn)
        else:
            conn.execute("PRAGMA query_only=ON")
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            await self.call(lambda conn: conn.close())
            self._conn = None
        self._pool.shutdown(wait=True)


def _write_tx(conn: apsw.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn`` in ``BEGIN IMMEDIATE``: the write lock up front, so no transaction must upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _read_tx(conn: apsw.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn`` in one read transaction: all its queries see the same state of the file."""
    with conn:
        return fn(conn, *args)


class SqliteStorage(Storage):
    """Storage in an SQLite file, created and migrated on start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = _Thread(path, "relay-db-writer", writer=True)
        self._reader = _Thread(path, "relay-db-reader", writer=False)

    async def _open(self) -> None:
        private_dir(self.path.parent)
        await self._writer.open()  # migrates before the reader looks at the schema
        await self._reader.open()

    async def _close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._writer.call(_write_tx, fn, *args)
        except apsw.ConstraintError as exc:  # a unique key: NOT NULL and foreign keys are checked
            raise Conflict(str(exc)) from exc

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._reader.call(_read_tx, fn, *args)

    async def _rows(self, sql: str, *args: Any) -> list[Any]:
        return await self._read(lambda conn: conn.execute(sql, args).fetchall())

    # --- documents ------------------------------------------------------------------------------

    async def append(
        self, doc_id: str, updates: list[Update], at_ms: int, state_vector: bytes | None = None
    ) -> PushAck:
        return await self._write(_append, doc_id, updates, at_ms, state_vector)

    async def pull(self, doc_id: str, cursor: int, limit: int) -> PulledDoc:
        return await self._read(_pull, doc_id, cursor, limit)

    async def heads(self, prefixes: list[str]) -> list[DocHead]:
        return await self._read(_heads, prefixes)

    async def state_vectors(self, doc_ids: list[str]) -> dict[str, tuple[int, bytes | None]]:
        return await self._read(_state_vectors, doc_ids)

    async def doc_bytes(self, doc_id: str) -> int:
        rows = await self._rows(_DOC_BYTES, doc_id)
        return int(rows[0][0])

    async def long_logs(self, min_updates: int, before_ms: int, limit: int) -> list[str]:
        rows = await self._rows(_LONG_LOGS, before_ms, min_updates, limit)
        return [doc_id for doc_id, _ in rows]

    async def build_segment(
        self, doc_id: str, before_ms: int | None = None
    ) -> merge.Segment | None:
        base, rows = await self._read(_load_run, doc_id, before_ms)
        return await asyncio.to_thread(merge.fold, base, rows) if rows else None

    async def swap_segment(self, doc_id: str, segment: merge.Segment, at_ms: int) -> bool:
        return await self._write(_swap, doc_id, segment, at_ms)

    async def rewrite_history(
        self, doc_id: str, expected_head: int, body: bytes, at_ms: int
    ) -> bool:
        done: bool = await self._write(
            _zeroing, rewrite.rewrite(doc_id, expected_head, body, at_ms)
        )
        if done:
            # Old versions of the pages stay in the WAL until it starts over: empty it now.
            await self._writer.call(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        return done

    # --- who may sync ----------------------------------------------------------------------------

    async def create_org(self, org_id: str, name: str, at_ms: int) -> Org:
        org = Org(id=org_id, name=name, created_at_ms=at_ms)
        await self._write(_insert, "orgs", org, None)
        return org

    async def get_org(self, org_id: str) -> Org:
        return await self._read(_get, Org, "orgs", org_id)

    async def list_orgs(self) -> list[Org]:
        rows = await self._rows(f"SELECT {_columns(Org)} FROM orgs ORDER BY id")
        return [_struct(Org, r) for r in rows]

    async def create_store(self, store_id: str, org_id: str, name: str, at_ms: int) -> Store:
        store = Store(id=store_id, org_id=org_id, name=name, created_at_ms=at_ms)
        await self._write(_insert, "stores", store, ("orgs", org_id))
        return store

    async def get_store(self, store_id: str) -> Store:
        return await self._read(_get, Store, "stores", store_id)

    async def list_stores(self, org_id: str) -> list[Store]:
        sql = f"SELECT {_columns(Store)} FROM stores WHERE org_id = ? ORDER BY id"
        return [_struct(Store, r) for r in await self._rows(sql, org_id)]

    async def create_owner(
        self, owner_id: str, org_id: str, email: str, password_hash: str, at_ms: int
    ) -> Owner:
        owner = Owner(
            id=owner_id,
            org_id=org_id,
            email=email.lower(),
            password_hash=password_hash,
            created_at_ms=at_ms,
        )
        await self._write(_insert, "owners", owner, ("orgs", org_id))
        return owner

    async def list_owners(self, org_id: str) -> list[Owner]:
        sql = f"SELECT {_columns(Owner)} FROM owners WHERE org_id = ? ORDER BY id"
        return [_struct(Owner, r) for r in await self._rows(sql, org_id)]

    async def owner_by_email(self, email: str) -> Owner | None:
        sql = f"SELECT {_columns(Owner)} FROM owners WHERE email = ?"
        rows = await self._rows(sql, email.lower())
        return _struct(Owner, rows[0]) if rows else None

    async def take_login(self, key: str, now_ms: int, rule: Backoff) -> int:
        wait_ms: int = await self._write(run_plan, logins.take(key, now_ms, rule))
        return wait_ms

    async def undo_login(self, key: str) -> None:
        await self._write(run_plan, logins.undo(key))

    async def claim_clients(
        self, doc_id: str, writer: str, client_ids: list[int]
    ) -> dict[int, str]:
        claims: dict[int, str] = await self._write(
            run_plan, clients.claim(doc_id, writer, client_ids)
        )
        return claims

    async def add_enrollment_code(
        self, code_hash: str, store_id: str, expires_at_ms: int, *, replace: bool = False
    ) -> None:
        await self._write(_add_code, code_hash, store_id, expires_at_ms, replace)

    async def redeem_enrollment_code(
        self, code_hash: str, now_ms: int, device_id: str, device_name: str, token_hash: str
    ) -> Device | None:
        plan = devices.redeem(code_hash, now_ms, device_id, device_name, token_hash)
        device: Device | None = await self._write(run_plan, plan)
        return device

    async def device_by_token(self, token_hash: str) -> Device | None:
        sql = (
            f"SELECT {_columns(Device)} FROM devices WHERE token_hash = ? AND revoked_at_ms IS NULL"
        )
        rows = await self._rows(sql, token_hash)
        return _struct(Device, rows[0]) if rows else None

    async def get_device(self, device_id: str) -> Device:
        found: Device | None = await self._read(run_plan, devices.device(device_id))
        if found is None:
            raise NotFound(f"no device {device_id!r}")
        return found

    async def list_devices(self, org_id: str, store_id: str | None = None) -> list[Device]:
        found: list[Device] = await self._read(run_plan, devices.devices_of(org_id, store_id))
        return found

    async def revoke_device(self, device_id: str, at_ms: int) -> None:
        await self._write(_revoke, device_id, at_ms)


# --- transactions, run on a connection's thread --------------------------------------------------


def run_plan(conn: apsw.Connection, plan: devices.Plan[T]) -> T:
    """Run a plan's steps in the caller's transaction; its lock hints are moot here, the writer
    holds the whole file from ``BEGIN IMMEDIATE`` on."""
    try:
        step = next(plan)
        while True:
            step = plan.send(conn.execute(step.sql, step.params).fetchall())
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _zeroing(conn: apsw.Connection, plan: devices.Plan[T]) -> T:
    """Run a plan with ``secure_delete``: what it deletes is overwritten with zeros in the file,
    not left in free space for anyone who reads the file."""
    conn.execute("PRAGMA secure_delete = ON")
    try:
        return run_plan(conn, plan)
    finally:
        conn.execute("PRAGMA secure_delete = OFF")


_HELD = """SELECT 1 FROM doc_updates WHERE doc_id = :d AND hash = :h
UNION ALL SELECT 1 FROM doc_folded WHERE doc_id = :d AND hash = :h"""


def _append(
    conn: apsw.Connection,
    doc_id: str,
    updates: list[Update],
    at_ms: int,
    state_vector: bytes | None,
) -> PushAck:
    row = conn.execute(
        "SELECT head, state_vector FROM doc_heads WHERE doc_id = ?", (doc_id,)
    ).fetchone()
    head, held_vector = row if row else (0, None)
    held = {u.hash for u in updates if conn.execute(_HELD, {"d": doc_id, "h": u.hash}).fetchone()}
    fresh = merge.fresh_updates(updates, held)
    if fresh:
        conn.executemany(
            "INSERT INTO doc_updates (doc_id, seq, hash, body, at_ms) VALUES (?, ?, ?, ?, ?)",
            [(doc_id, head + n, u.hash, u.body, at_ms) for n, u in enumerate(fresh, start=1)],
        )
        head += len(fresh)
    if state_vector is not None:
        held_vector = merge_state_vectors(held_vector, state_vector)
    if fresh or state_vector is not None:
        conn.execute(
            "INSERT INTO doc_heads (doc_id, head, state_vector) VALUES (?, ?, ?)"
            " ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head,"
            " state_vector = excluded.state_vector",
            (doc_id, head, held_vector),
        )
    dups = len(updates) - len(fresh)
    return PushAck(
        doc_id=doc_id, accepted=len(fresh), duplicates=dups, head=head, state_vector=held_vector
    )


def _pull(conn: apsw.Connection, doc_id: str, cursor: int, limit: int) -> PulledDoc:
    segments = conn.execute(
        "SELECT upto_seq, body FROM doc_segments WHERE doc_id = ? AND upto_seq > ?"
        " ORDER BY upto_seq LIMIT ?",
        (doc_id, cursor, limit + 1),
    ).fetchall()
    after = segments[-1][0] if segments else cursor
    rows = conn.execute(
        "SELECT seq, hash, body FROM doc_updates WHERE doc_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (doc_id, after, limit + 1 - len(segments)),
    ).fetchall()
    hashed = [(seq, update_hash(body), body) for seq, body in segments]
    return merge.pulled_doc(doc_id, cursor, limit, hashed, rows)


def _heads(conn: apsw.Connection, prefixes: list[str]) -> list[DocHead]:
    found: dict[str, int] = {}
    for prefix in prefixes:
        low, high = merge.prefix_bounds(prefix)
        sql = "SELECT doc_id, head FROM doc_heads WHERE doc_id >= ?"
        rows = (
            conn.execute(sql, (low,))
            if high is None
            else conn.execute(f"{sql} AND doc_id < ?", (low, high))
        )
        found.update(rows)
    return [DocHead(doc_id=d, head=h) for d, h in sorted(found.items())]


def _state_vectors(
    conn: apsw.Connection, doc_ids: list[str]
) -> dict[str, tuple[int, bytes | None]]:
    found = {}
    for doc_id in doc_ids:
        row = conn.execute(
            "SELECT head, state_vector FROM doc_heads WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        if row is not None:
            found[doc_id] = (row[0], row[1])
    return found


_DOC_BYTES = """SELECT coalesce((SELECT sum(length(body)) FROM doc_segments WHERE doc_id = ?1), 0)
 + coalesce((SELECT sum(length(body)) FROM doc_updates WHERE doc_id = ?1), 0)"""

_LONG_LOGS = """SELECT doc_id, count(*) AS n FROM doc_updates WHERE at_ms < ? GROUP BY doc_id
HAVING n >= ? ORDER BY n DESC, doc_id LIMIT ?"""


def _load_run(
    conn: apsw.Connection, doc_id: str, before_ms: int | None
) -> tuple[int, list[tuple[int, bytes]]]:
    """(last segment's seq, the oldest log rows appended before ``before_ms``, at most a
    segment's worth): what the next segment folds."""
    base = conn.execute(
        "SELECT coalesce(max(upto_seq), 0) FROM doc_segments WHERE doc_id = ?", (doc_id,)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT seq, body FROM doc_updates WHERE doc_id = ?1 AND seq <= coalesce((SELECT max(seq)"
        " FROM doc_updates WHERE doc_id = ?1 AND at_ms < ?2), 0) ORDER BY seq LIMIT ?3",
        (doc_id, merge.NEVER if before_ms is None else before_ms, merge.SEGMENT_UPDATES),
    ).fetchall()
    return base, rows


def _swap(conn: apsw.Connection, doc_id: str, segment: merge.Segment, at_ms: int) -> bool:
    base = conn.execute(
        "SELECT coalesce(max(upto_seq), 0) FROM doc_segments WHERE doc_id = ?", (doc_id,)
    ).fetchone()[0]
    if base != segment.base_seq:
        return False  # another compaction swapped first: the rows this one folds may be gone
    conn.execute(
        "INSERT INTO doc_segments (doc_id, upto_seq, body, at_ms) VALUES (?, ?, ?, ?)",
        (doc_id, segment.upto_seq, segment.body, at_ms),
    )
    folded = (doc_id, segment.base_seq, segment.upto_seq)
    conn.execute(
        "INSERT OR IGNORE INTO doc_folded (doc_id, hash)"
        " SELECT doc_id, hash FROM doc_updates WHERE doc_id = ? AND seq > ? AND seq <= ?",
        folded,
    )
    conn.execute("DELETE FROM doc_updates WHERE doc_id = ? AND seq > ? AND seq <= ?", folded)
    return True


def _exists(conn: apsw.Connection, table: str, key: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (key,)).fetchone() is not None


def _insert(
    conn: apsw.Connection, table: str, row: msgspec.Struct, parent: tuple[str, str] | None
) -> None:
    if parent is not None and not _exists(conn, *parent):
        raise NotFound(f"no {parent[0][:-1]} {parent[1]!r}")
    fields = type(row).__struct_fields__
    values = [getattr(row, f) for f in fields]
    marks = ", ".join("?" * len(fields))
    conn.execute(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({marks})", values)


def _get(conn: apsw.Connection, cls: type[S], table: str, key: str) -> S:
    row = conn.execute(f"SELECT {_columns(cls)} FROM {table} WHERE id = ?", (key,)).fetchone()
    if row is None:
        raise NotFound(f"no {table[:-1]} {key!r}")
    return _struct(cls, row)


def _add_code(
    conn: apsw.Connection, code_hash: str, store_id: str, expires_at_ms: int, replace: bool
) -> None:
    if not _exists(conn, "stores", store_id):
        raise NotFound(f"no store {store_id!r}")
    conn.execute(
        "INSERT INTO enrollment_codes (code_hash, store_id, expires_at_ms, replaces)"
        " VALUES (?, ?, ?, ?)",
        (code_hash, store_id, expires_at_ms, int(replace)),
    )


def _revoke(conn: apsw.Connection, device_id: str, at_ms: int) -> None:
    # revoking twice keeps the first time
    conn.execute(
        "UPDATE devices SET revoked_at_ms = coalesce(revoked_at_ms, ?) WHERE id = ?",
        (at_ms, device_id),
    )
    if conn.changes() == 0:
        raise NotFound(f"no device {device_id!r}")
