"""The relay's storage on PostgreSQL through psycopg 3 (async): for one or several relay processes.

Several processes may push to one document at once: every change to a document's rows first locks
its ``doc_heads`` row (``SELECT ... FOR UPDATE``), so seqs are numbered without gaps or repeats and
a compaction never swaps under a push. Reads that look at two tables run in REPEATABLE READ, so a
compaction committing in between cannot make them see a snapshot and a log that do not match.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

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
from shared.schemas.sync import (
    DocHead,
    PulledDoc,
    PushAck,
    Update,
    merge_state_vectors,
    update_hash,
)
from shared.throttle import Backoff

S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
MIGRATION_LOCK = 0x46594E4C4F  # pg_advisory_xact_lock key: relays starting together migrate once

# Forward-only: never edit a released migration, append a new one. Document ids sort bytewise
# (COLLATE "C") so a prefix is an index range whatever the database's locale.
_MIGRATIONS = [
    """
    CREATE TABLE orgs (id text PRIMARY KEY, name text NOT NULL, created_at_ms bigint NOT NULL);
    CREATE TABLE stores (
        id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs (id), name text NOT NULL,
        created_at_ms bigint NOT NULL);
    CREATE INDEX stores_org ON stores (org_id);
    CREATE TABLE owners (
        id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs (id), email text NOT NULL UNIQUE,
        password_hash text NOT NULL, created_at_ms bigint NOT NULL);
    CREATE TABLE enrollment_codes (
        code_hash text PRIMARY KEY, store_id text NOT NULL REFERENCES stores (id),
        expires_at_ms bigint NOT NULL, used_at_ms bigint);
    CREATE TABLE devices (
        id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs (id),
        store_id text NOT NULL REFERENCES stores (id), name text NOT NULL,
        enrolled_at_ms bigint NOT NULL, revoked_at_ms bigint, token_hash text NOT NULL UNIQUE);
    CREATE TABLE doc_heads (doc_id text COLLATE "C" PRIMARY KEY, head bigint NOT NULL);
    CREATE TABLE doc_updates (
        doc_id text COLLATE "C" NOT NULL, seq bigint NOT NULL, hash bytea NOT NULL,
        body bytea NOT NULL, at_ms bigint NOT NULL, PRIMARY KEY (doc_id, seq),
        UNIQUE (doc_id, hash));
    CREATE TABLE doc_snapshots (
        doc_id text COLLATE "C" PRIMARY KEY, upto_seq bigint NOT NULL, body bytea NOT NULL,
        state_vector bytea NOT NULL, at_ms bigint NOT NULL);
    -- hashes of updates folded into a snapshot: a late re-push of one stays a duplicate
    CREATE TABLE doc_folded (
        doc_id text COLLATE "C", hash bytea, PRIMARY KEY (doc_id, hash));
    """,
    # Segments instead of one snapshot rewritten whole (see merge.Segment); each document's state
    # vector, kept current by every append, so an appliance can check it cheaply.
    """
    CREATE TABLE doc_segments (
        doc_id text COLLATE "C" NOT NULL, upto_seq bigint NOT NULL, body bytea NOT NULL,
        at_ms bigint NOT NULL, PRIMARY KEY (doc_id, upto_seq));
    INSERT INTO doc_segments (doc_id, upto_seq, body, at_ms)
        SELECT doc_id, upto_seq, body, at_ms FROM doc_snapshots;
    DROP TABLE doc_snapshots;
    ALTER TABLE doc_heads ADD COLUMN state_vector bytea;
    """,
    devices.MIGRATION,  # replacement codes; devices by store and org
    logins.MIGRATION,  # owner password failures, per account and client address
    clients.MIGRATION,  # which device writes under which Yjs client id of a document
]


async def _migrate(conn: Conn) -> None:
    """Bring the database to the newest schema in one transaction, one relay at a time."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
        current = (row[0] if row else None) or 0
        if current > len(_MIGRATIONS):
            raise StorageError(f"relay schema v{current} is newer than this relay")
        for version, sql in enumerate(_MIGRATIONS[current:], start=current + 1):
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))


def _bytes(value: Any) -> bytes | None:
    """psycopg hands bytea back as memoryview."""
    return None if value is None else bytes(value)


def _struct(cls: type[S], row: Any) -> S:
    """A struct from a row whose columns are in the struct's field order."""
    return cls(**dict(zip(cls.__struct_fields__, row, strict=True)))


def _columns(cls: type[msgspec.Struct]) -> str:
    return ", ".join(cls.__struct_fields__)


class _Pool:
    """A fixed set of autocommit connections, each lent to one task at a time."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._size = size
        self._idle: asyncio.Queue[Conn] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(await self._connect())

    async def _connect(self) -> Conn:
        return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        conn = await self._idle.get()
        try:
            if conn.closed or conn.broken:  # the server restarted or dropped it: reconnect
                conn = await self._connect()
            yield conn
        finally:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.close()  # left mid-transaction (cancelled): never lend it out again
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for _ in range(self._size):
            await (await self._idle.get()).close()


class PostgresStorage(Storage):
    """Storage in a PostgreSQL database (``dsn`` as libpq takes it), migrated on start."""

    def __init__(self, dsn: str, pool_size: int = 4) -> None:
        self.dsn = dsn
        self._pool = _Pool(dsn, pool_size)

    async def _open(self) -> None:
        await self._pool.open()
        async with self._pool.connection() as conn:
            await _migrate(conn)

    async def _close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _tx(self, *, snapshot: bool = False) -> AsyncIterator[Conn]:
        """One transaction; ``snapshot`` makes all its reads see one state (REPEATABLE READ)."""
        async with self._pool.connection() as conn, conn.transaction():
            if snapshot:
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    async def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            return await (await conn.execute(sql, args)).fetchall()

    async def _insert(self, table: str, row: msgspec.Struct, missing: str = "") -> None:
        """Insert a struct's fields; ``missing`` names the parent a foreign key failure means."""
        fields = type(row).__struct_fields__
        sql = (
            f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join(['%s'] * len(fields))})"
        )
        try:
            async with self._tx() as conn:
                await conn.execute(sql, [getattr(row, f) for f in fields])
        except errors.ForeignKeyViolation as exc:
            raise NotFound(missing) from exc
        except errors.UniqueViolation as exc:
            raise Conflict(str(exc)) from exc

    # --- documents ------------------------------------------------------------------------------

    async def append(
        self, doc_id: str, updates: list[Update], at_ms: int, state_vector: bytes | None = None
    ) -> PushAck:
        if not updates and state_vector is None:  # nothing to lock for, no document to create
            rows = await self._rows(
                "SELECT head, state_vector FROM doc_heads WHERE doc_id = %s", doc_id
            )
            head, held_vector = (rows[0][0], _bytes(rows[0][1])) if rows else (0, None)
            return PushAck(
                doc_id=doc_id, accepted=0, duplicates=0, head=head, state_vector=held_vector
            )
        async with self._tx() as conn:
            await _lock_head(conn, doc_id, create=True)
            row = await (
                await conn.execute(
                    "SELECT head, state_vector FROM doc_heads WHERE doc_id = %s", (doc_id,)
                )
            ).fetchone()
            head, held_vector = (row[0], _bytes(row[1])) if row else (0, None)
            fresh = merge.fresh_updates(updates, await _held(conn, doc_id, updates))
            if fresh:
                seqs = list(range(head + 1, head + 1 + len(fresh)))
                await conn.execute(
                    "INSERT INTO doc_updates (doc_id, seq, hash, body, at_ms)"
                    " SELECT %s, s, h, b, %s FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[])"
                    " AS t (s, h, b)",
                    (doc_id, at_ms, seqs, [u.hash for u in fresh], [u.body for u in fresh]),
                )
                head = seqs[-1]
            if state_vector is not None:
                held_vector = merge_state_vectors(held_vector, state_vector)
            await conn.execute(
                "UPDATE doc_heads SET head = %s, state_vector = %s WHERE doc_id = %s",
                (head, held_vector, doc_id),
            )
        dups = len(updates) - len(fresh)
        return PushAck(
            doc_id=doc_id, accepted=len(fresh), duplicates=dups, head=head, state_vector=held_vector
        )

    async def pull(self, doc_id: str, cursor: int, limit: int) -> PulledDoc:
        async with self._tx(snapshot=True) as conn:
            segments = await (
                await conn.execute(
                    "SELECT upto_seq, body FROM doc_segments WHERE doc_id = %s AND upto_seq > %s"
                    " ORDER BY upto_seq LIMIT %s",
                    (doc_id, cursor, limit + 1),
                )
            ).fetchall()
            after = segments[-1][0] if segments else cursor
            rows = await (
                await conn.execute(
                    "SELECT seq, hash, body FROM doc_updates WHERE doc_id = %s AND seq > %s"
                    " ORDER BY seq LIMIT %s",
                    (doc_id, after, limit + 1 - len(segments)),
                )
            ).fetchall()
        hashed = [(seq, update_hash(bytes(body)), bytes(body)) for seq, body in segments]
        return merge.pulled_doc(doc_id, cursor, limit, hashed, rows)

    async def heads(self, prefixes: list[str]) -> list[DocHead]:
        found: dict[str, int] = {}
        for prefix in prefixes:
            low, high = merge.prefix_bounds(prefix)
            sql = "SELECT doc_id, head FROM doc_heads WHERE doc_id >= %s"
            rows = await (
                self._rows(sql, low)
                if high is None
                else self._rows(f"{sql} AND doc_id < %s", low, high)
            )
            found.update(rows)
        return [DocHead(doc_id=d, head=h) for d, h in sorted(found.items())]

    async def doc_bytes(self, doc_id: str) -> int:
        rows = await self._rows(
            "SELECT coalesce((SELECT sum(length(body)) FROM doc_segments WHERE doc_id = %s), 0)"
            " + coalesce((SELECT sum(length(body)) FROM doc_updates WHERE doc_id = %s), 0)",
            doc_id,
            doc_id,
        )
        return int(rows[0][0])

    async def long_logs(self, min_updates: int, before_ms: int, limit: int) -> list[str]:
        rows = await self._rows(
            "SELECT doc_id FROM doc_updates WHERE at_ms < %s GROUP BY doc_id"
            " HAVING count(*) >= %s ORDER BY count(*) DESC, doc_id LIMIT %s",
            before_ms,
            min_updates,
            limit,
        )
        return [row[0] for row in rows]

    async def state_vectors(self, doc_ids: list[str]) -> dict[str, tuple[int, bytes | None]]:
        rows = await self._rows(
            "SELECT doc_id, head, state_vector FROM doc_heads WHERE doc_id = ANY(%s)", doc_ids
        )
        return {doc_id: (head, _bytes(vector)) for doc_id, head, vector in rows}

    async def build_segment(
        self, doc_id: str, before_ms: int | None = None
    ) -> merge.Segment | None:
        async with self._tx(snapshot=True) as conn:
            top = await (
                await conn.execute(
                    "SELECT coalesce(max(upto_seq), 0) FROM doc_segments WHERE doc_id = %s",
                    (doc_id,),
                )
            ).fetchone()
            rows = await (
                await conn.execute(
                    "SELECT seq, body FROM doc_updates WHERE doc_id = %(d)s AND seq <= coalesce(("
                    "SELECT max(seq) FROM doc_updates WHERE doc_id = %(d)s AND at_ms < %(b)s), 0)"
                    " ORDER BY seq LIMIT %(n)s",
                    {
                        "d": doc_id,
                        "b": merge.NEVER if before_ms is None else before_ms,
                        "n": merge.SEGMENT_UPDATES,
                    },
                )
            ).fetchall()
        if not rows:
            return None
        base = top[0] if top else 0
        return await asyncio.to_thread(merge.fold, base, [(s, bytes(b)) for s, b in rows])

    async def swap_segment(self, doc_id: str, segment: merge.Segment, at_ms: int) -> bool:
        async with self._tx() as conn:
            # The head's row lock serialises this with pushes and with other relays' swaps.
            await _lock_head(conn, doc_id, create=False)
            row = await (
                await conn.execute(
                    "SELECT coalesce(max(upto_seq), 0) FROM doc_segments WHERE doc_id = %s",
                    (doc_id,),
                )
            ).fetchone()
            if (row[0] if row else 0) != segment.base_seq:
                return False  # another compaction swapped first: the rows folded may be gone
            await conn.execute(
                "INSERT INTO doc_segments (doc_id, upto_seq, body, at_ms) VALUES (%s, %s, %s, %s)",
                (doc_id, segment.upto_seq, segment.body, at_ms),
            )
            await conn.execute(
                "WITH gone AS (DELETE FROM doc_updates WHERE doc_id = %s AND seq > %s"
                " AND seq <= %s RETURNING doc_id, hash) INSERT INTO doc_folded (doc_id, hash)"
                " SELECT doc_id, hash FROM gone ON CONFLICT DO NOTHING",
                (doc_id, segment.base_seq, segment.upto_seq),
            )
        return True

    async def rewrite_history(
        self, doc_id: str, expected_head: int, body: bytes, at_ms: int
    ) -> bool:
        # The head's row lock (the plan's first step) serialises this with pushes and swaps.
        # Deleted rows' bytes stay in PostgreSQL's dead tuples until its next VACUUM.
        async with self._tx() as conn:
            return await run_plan(conn, rewrite.rewrite(doc_id, expected_head, body, at_ms))

    async def notify(self, channel: str, payloads: list[str]) -> None:
        """NOTIFY ``channel`` once per payload, in one statement (delivered as it commits)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (channel, payloads)
            )

    # --- who may sync ----------------------------------------------------------------------------

    async def create_org(self, org_id: str, name: str, at_ms: int) -> Org:
        org = Org(id=org_id, name=name, created_at_ms=at_ms)
        await self._insert("orgs", org)
        return org

    async def get_org(self, org_id: str) -> Org:
        rows = await self._rows(f"SELECT {_columns(Org)} FROM orgs WHERE id = %s", org_id)
        if not rows:
            raise NotFound(f"no org {org_id!r}")
        return _struct(Org, rows[0])

    async def list_orgs(self) -> list[Org]:
        rows = await self._rows(f"SELECT {_columns(Org)} FROM orgs ORDER BY id")
        return [_struct(Org, r) for r in rows]

    async def create_store(self, store_id: str, org_id: str, name: str, at_ms: int) -> Store:
        store = Store(id=store_id, org_id=org_id, name=name, created_at_ms=at_ms)
        await self._insert("stores", store, f"no org {org_id!r}")
        return store

    async def get_store(self, store_id: str) -> Store:
        rows = await self._rows(f"SELECT {_columns(Store)} FROM stores WHERE id = %s", store_id)
        if not rows:
            raise NotFound(f"no store {store_id!r}")
        return _struct(Store, rows[0])

    async def list_stores(self, org_id: str) -> list[Store]:
        sql = f"SELECT {_columns(Store)} FROM stores WHERE org_id = %s ORDER BY id"
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
        await self._insert("owners", owner, f"no org {org_id!r}")
        return owner

    async def list_owners(self, org_id: str) -> list[Owner]:
        sql = f"SELECT {_columns(Owner)} FROM owners WHERE org_id = %s ORDER BY id"
        return [_struct(Owner, r) for r in await self._rows(sql, org_id)]

    async def owner_by_email(self, email: str) -> Owner | None:
        sql = f"SELECT {_columns(Owner)} FROM owners WHERE email = %s"
        rows = await self._rows(sql, email.lower())
        return _struct(Owner, rows[0]) if rows else None

    async def take_login(self, key: str, now_ms: int, rule: Backoff) -> int:
        async with self._tx() as conn:
            return await run_plan(conn, logins.take(key, now_ms, rule))

    async def undo_login(self, key: str) -> None:
        async with self._tx() as conn:
            await run_plan(conn, logins.undo(key))

    async def claim_clients(
        self, doc_id: str, writer: str, client_ids: list[int]
    ) -> dict[int, str]:
        async with self._tx() as conn:
            return await run_plan(conn, clients.claim(doc_id, writer, client_ids))

    async def add_enrollment_code(
        self, code_hash: str, store_id: str, expires_at_ms: int, *, replace: bool = False
    ) -> None:
        try:
            async with self._tx() as conn:
                await conn.execute(
                    "INSERT INTO enrollment_codes (code_hash, store_id, expires_at_ms, replaces)"
                    " VALUES (%s, %s, %s, %s)",
                    (code_hash, store_id, expires_at_ms, int(replace)),
                )
        except errors.ForeignKeyViolation as exc:
            raise NotFound(f"no store {store_id!r}") from exc
        except errors.UniqueViolation as exc:
            raise Conflict("enrollment code already added") from exc

    async def redeem_enrollment_code(
        self, code_hash: str, now_ms: int, device_id: str, device_name: str, token_hash: str
    ) -> Device | None:
        plan = devices.redeem(code_hash, now_ms, device_id, device_name, token_hash)
        try:
            async with self._tx() as conn:
                return await run_plan(conn, plan)
        except errors.UniqueViolation as exc:
            raise Conflict(str(exc)) from exc

    async def device_by_token(self, token_hash: str) -> Device | None:
        sql = (
            f"SELECT {_columns(Device)} FROM devices"
            " WHERE token_hash = %s AND revoked_at_ms IS NULL"
        )
        rows = await self._rows(sql, token_hash)
        return _struct(Device, rows[0]) if rows else None

    async def get_device(self, device_id: str) -> Device:
        async with self._tx() as conn:
            found = await run_plan(conn, devices.device(device_id))
        if found is None:
            raise NotFound(f"no device {device_id!r}")
        return found

    async def list_devices(self, org_id: str, store_id: str | None = None) -> list[Device]:
        async with self._tx() as conn:
            return await run_plan(conn, devices.devices_of(org_id, store_id))

    async def revoke_device(self, device_id: str, at_ms: int) -> None:
        # revoking twice keeps the first time
        rows = await self._rows(
            "UPDATE devices SET revoked_at_ms = coalesce(revoked_at_ms, %s) WHERE id = %s"
            " RETURNING id",
            at_ms,
            device_id,
        )
        if not rows:
            raise NotFound(f"no device {device_id!r}")


async def _lock_head(conn: Conn, doc_id: str, *, create: bool) -> int | None:
    """The document's head, its row locked until the transaction ends (None: no document)."""
    if create:  # a first push: two relays creating the row at once both end up locking it
        await conn.execute(
            "INSERT INTO doc_heads (doc_id, head) VALUES (%s, 0) ON CONFLICT DO NOTHING", (doc_id,)
        )
    cur = await conn.execute("SELECT head FROM doc_heads WHERE doc_id = %s FOR UPDATE", (doc_id,))
    row = await cur.fetchone()
    return row[0] if row else None


async def _held(conn: Conn, doc_id: str, updates: list[Update]) -> set[bytes]:
    """The hashes among ``updates`` the document already holds, in its log or its snapshot."""
    hashes = [u.hash for u in updates]
    cur = await conn.execute(
        "SELECT hash FROM doc_updates WHERE doc_id = %s AND hash = ANY(%s)"
        " UNION ALL SELECT hash FROM doc_folded WHERE doc_id = %s AND hash = ANY(%s)",
        (doc_id, hashes, doc_id, hashes),
    )
    return {bytes(r[0]) for r in await cur.fetchall()}


async def run_plan(conn: Conn, plan: devices.Plan[T]) -> T:
    """Run a plan's steps in the caller's transaction, locking the rows a step asks to."""
    try:
        step = next(plan)
        while True:
            sql = devices.postgres_sql(step.sql) + (" FOR UPDATE" if step.lock else "")
            cur = await conn.execute(sql, step.params)
            rows = await cur.fetchall() if cur.description is not None else []
            step = plan.send(rows)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
