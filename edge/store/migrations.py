"""Forward-only schema migrations, versioned in ``PRAGMA user_version``.

Each migration runs in the same transaction as the version bump, so a crash mid-migration leaves
the previous version intact. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import apsw

from edge.store.errors import SchemaTooNew

_V1 = """
-- replication: the document log --------------------------------------------------------------
CREATE TABLE crdt_update (
    seq INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    at_ms INTEGER NOT NULL,
    UNIQUE (doc_id, hash)
);
CREATE INDEX crdt_update_doc ON crdt_update (doc_id, seq);
CREATE TABLE crdt_snapshot (
    doc_id TEXT PRIMARY KEY,
    upto_seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE crdt_client (
    doc_id TEXT PRIMARY KEY,
    client_id INTEGER NOT NULL CHECK (client_id > 0 AND client_id < 9007199254740992)
);

-- local, never replicated ------------------------------------------------------------------
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    paired_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE TABLE pairing_codes (
    code_hash TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER,
    device_id TEXT
);
CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX login_failures_scope ON login_failures (scope, at_ms);

-- projections: derived from documents, rebuilt by `fynlo-edge rebuild` ------------------------
CREATE TABLE tax_rates (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, rate TEXT NOT NULL,
    archived INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE categories (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, sort INTEGER NOT NULL,
    archived INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, category_id TEXT NOT NULL,
    price_minor INTEGER NOT NULL, sku TEXT, barcode TEXT, archived INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX items_category ON items (category_id);
CREATE INDEX items_barcode ON items (barcode) WHERE barcode IS NOT NULL;
CREATE VIRTUAL TABLE items_fts USING fts5 (id UNINDEXED, name, sku);
CREATE TABLE modifier_groups (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, archived INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE discounts (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, archived INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE employees (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    email TEXT, pin_tag TEXT, active INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX employees_pin_tag ON employees (pin_tag) WHERE pin_tag IS NOT NULL;
CREATE INDEX employees_email ON employees (email) WHERE email IS NOT NULL;
CREATE TABLE doc_values (
    doc_id TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (doc_id, collection, key)
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, business_day TEXT NOT NULL,
    number INTEGER NOT NULL, state TEXT NOT NULL, total_minor INTEGER NOT NULL,
    paid_minor INTEGER NOT NULL, balance_minor INTEGER NOT NULL, device_id TEXT NOT NULL,
    opened_by TEXT NOT NULL, opened_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_day_number ON orders (business_day, number);
CREATE INDEX orders_state ON orders (state, business_day);
CREATE TABLE order_lines (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL, item_id TEXT NOT NULL, name TEXT NOT NULL,
    quantity INTEGER NOT NULL, unit_price_minor INTEGER NOT NULL, sent INTEGER NOT NULL,
    voided INTEGER NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE TABLE payments (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, order_id TEXT NOT NULL, tender TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, tip_minor INTEGER NOT NULL, change_minor INTEGER NOT NULL,
    drawer_session_id TEXT, taken_at_ms INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_session ON payments (drawer_session_id);
CREATE TABLE refunds (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, order_id TEXT NOT NULL, payment_id TEXT,
    tender TEXT NOT NULL, amount_minor INTEGER NOT NULL, drawer_session_id TEXT,
    taken_at_ms INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE TABLE drawer_sessions (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, drawer_id TEXT NOT NULL, state TEXT NOT NULL,
    opened_at_ms INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX drawer_sessions_state ON drawer_sessions (drawer_id, state);
CREATE TABLE drawer_entries (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, session_id TEXT NOT NULL, kind TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, at_ms INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX drawer_entries_session ON drawer_entries (session_id);
CREATE TABLE audit (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, at_ms INTEGER NOT NULL, actor_id TEXT,
    device_id TEXT, action TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT,
    approved_by TEXT, data TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at_ms);
CREATE INDEX audit_entity ON audit (entity_id);
"""

_V2 = """
-- replication with the relay: per-document cursors, so an interrupted sync resumes -----------
CREATE TABLE sync_state (
    doc_id TEXT PRIMARY KEY,
    pushed_seq INTEGER NOT NULL DEFAULT 0,   -- local crdt_update.seq the relay has acknowledged
    pull_cursor INTEGER NOT NULL DEFAULT 0,  -- relay seq applied here
    relay_head INTEGER NOT NULL DEFAULT 0,   -- the relay's head when last seen
    last_success_ms INTEGER,
    last_error TEXT,
    last_error_ms INTEGER
);
"""

_V3 = """
-- order numbers are for people, not a key: an appliance restored from a backup numbers its first
-- sales again from where the backup stopped, and the sales the backup missed come back from the
-- relay with the same numbers. A unique index would refuse them and stop replication for good.
DROP INDEX orders_day_number;
CREATE INDEX orders_day_number ON orders (business_day, number);
"""

_V4 = """
-- Log sequence numbers only ever grow. Without AUTOINCREMENT SQLite handed out again the seqs of
-- rows a compaction had deleted: new updates sat at or below sync_state.pushed_seq and were never
-- pushed (sales silently left behind).
CREATE TABLE crdt_update_v4 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    at_ms INTEGER NOT NULL,
    UNIQUE (doc_id, hash)
);
INSERT INTO crdt_update_v4 (seq, doc_id, hash, body, origin, at_ms)
    SELECT seq, doc_id, hash, body, origin, at_ms FROM crdt_update;
DROP TABLE crdt_update;
ALTER TABLE crdt_update_v4 RENAME TO crdt_update;
CREATE INDEX crdt_update_doc ON crdt_update (doc_id, seq);
-- Compaction folds runs of the log into segments and never rewrites one: a pass costs what it
-- folds, not the whole document, and no stored piece outgrows what one push may carry.
-- A segment is kept deflated (a day's entries are alike: about a fifth of their size), its
-- raw_size the length of the update itself; NULL: kept as it is.
CREATE TABLE crdt_segment (
    doc_id TEXT NOT NULL,
    upto_seq INTEGER NOT NULL,  -- the last log seq folded into it
    body BLOB NOT NULL,
    raw_size INTEGER,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (doc_id, upto_seq)
);
INSERT INTO crdt_segment (doc_id, upto_seq, body, at_ms)
    SELECT doc_id, upto_seq, body, at_ms FROM crdt_snapshot;
DROP TABLE crdt_snapshot;
-- New seqs start above every seq anything ever recorded: the log, a snapshot, a push cursor.
CREATE TEMP TABLE v4_top AS SELECT max(
    coalesce((SELECT max(seq) FROM crdt_update), 0),
    coalesce((SELECT max(upto_seq) FROM crdt_segment), 0),
    coalesce((SELECT max(pushed_seq) FROM sync_state), 0)) AS seq;
DELETE FROM sqlite_sequence WHERE name = 'crdt_update';
INSERT INTO sqlite_sequence (name, seq) SELECT 'crdt_update', seq FROM v4_top;
DROP TABLE v4_top;
-- The relay's own view, checked now and then: what it lacked and what was pushed again.
ALTER TABLE sync_state ADD COLUMN verified_ms INTEGER;      -- its state vector covered ours
ALTER TABLE sync_state ADD COLUMN relay_missing INTEGER NOT NULL DEFAULT 0;  -- and now it did not
ALTER TABLE sync_state ADD COLUMN repairs INTEGER NOT NULL DEFAULT 0;  -- pushes of what it lacked
ALTER TABLE sync_state ADD COLUMN last_repair_ms INTEGER;
-- The lines of an order live in one B-tree keyed by their id (no rowid tree beside an index).
CREATE TABLE order_lines_v4 (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL, item_id TEXT NOT NULL, name TEXT NOT NULL,
    quantity INTEGER NOT NULL, unit_price_minor INTEGER NOT NULL, sent INTEGER NOT NULL,
    voided INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO order_lines_v4 SELECT id, order_id, item_id, name, quantity, unit_price_minor, sent,
    voided FROM order_lines;
DROP TABLE order_lines;
ALTER TABLE order_lines_v4 RENAME TO order_lines;
CREATE INDEX order_lines_order ON order_lines (order_id);
-- Concurrent edits of one shared field that lost (shared.schemas.stamped): a projection.
CREATE TABLE conflicts (
    doc_id TEXT NOT NULL, collection TEXT NOT NULL, entity_id TEXT NOT NULL,
    lost_key TEXT NOT NULL, field TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (doc_id, collection, entity_id, lost_key)
);
"""

_V5 = """
-- Entries this appliance cannot project as their document holds them (another replica's bug,
-- older data): listed for a manager, counted in /metrics, cleared once a later update makes
-- them readable. Not a projection table: when it met an entry is this appliance's own fact, so a
-- rebuild keeps first_seen_ms (edge.store.quarantine). key '' names a whole root this version
-- does not know (every root of a document of a kind it does not know).
CREATE TABLE quarantine (
    doc_id TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL,
    error TEXT NOT NULL,
    projected INTEGER NOT NULL DEFAULT 0,  -- 1: the readable rest is projected, bad cells left out
    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (doc_id, collection, key)
) WITHOUT ROWID;
"""

_V6 = """
-- The PIN verifiers of the staff who work at this store (its store/{store}/pins document): the
-- org's people document no longer holds any (edge.app.auth.pins). pin_tag NULL: a verifier moved
-- from an older people document, found by its Argon2 hash until its first login tags it.
CREATE TABLE store_pins (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, pin_tag TEXT, data TEXT NOT NULL
);
CREATE INDEX store_pins_tag ON store_pins (pin_tag);
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6]

# Tables derived from documents: emptied and refilled by a rebuild.
PROJECTION_TABLES = (
    "tax_rates",
    "categories",
    "items",
    "items_fts",
    "modifier_groups",
    "discounts",
    "employees",
    "doc_values",
    "orders",
    "order_lines",
    "payments",
    "refunds",
    "drawer_sessions",
    "drawer_entries",
    "audit",
    "conflicts",
    "store_pins",
)


def schema_version(conn: apsw.Connection) -> int:
    """The version recorded in the file (0 for a new, empty database)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: apsw.Connection) -> int:
    """Bring the database up to the newest version; return that version."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise SchemaTooNew(
            f"database schema v{current} is newer than this fynlo-edge (v{len(MIGRATIONS)})"
        )
    for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        with conn:  # one transaction: the DDL and the version bump land together
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {version}")
    return len(MIGRATIONS)
