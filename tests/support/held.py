"""Everything a replica holds, as searchable bytes: to show a secret is (not) among it.

An appliance's store file is read table by table, each value as it would be read back: segments
inflated, projection rows unpacked, update bodies as they are (Yjs and msgpack keep text as
UTF-8). The relay's copy of a document is every segment and log row it stores of it.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import apsw

from edge.store import rowdata
from edge.store.db import connect, db_path


def _readable(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if not isinstance(value, bytes):
        return str(value).encode()
    found = [value]
    for inflate in (zlib.decompress, rowdata.unpack):
        try:
            out = inflate(value)
        except (zlib.error, IndexError, ValueError):
            continue
        found.append(out if isinstance(out, bytes) else out.encode())
    return b"\n".join(found)


def appliance_holds(data_dir: Path) -> bytes:
    """Every value of every table of an appliance's store file, readable."""
    conn = connect(db_path(data_dir), writer=False)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE"
                " VIRTUAL%' AND name NOT LIKE 'items_fts_%'"
            )
        ]
        chunks = [
            _readable(v)
            for t in tables
            for row in conn.execute(f'SELECT * FROM "{t}"')
            for v in row
        ]
    finally:
        conn.close()
    return b"\n".join(chunks)


def relay_doc_holds(relay_data: Path, doc_id: str) -> bytes:
    """Every stored piece (segments and log rows) of one document in a relay's SQLite file."""
    conn = apsw.Connection(str(relay_data / "relay.db"))
    try:
        rows = conn.execute(
            "SELECT body FROM doc_segments WHERE doc_id = ?1"
            " UNION ALL SELECT body FROM doc_updates WHERE doc_id = ?1",
            (doc_id,),
        ).fetchall()
    finally:
        conn.close()
    return b"\n".join(bytes(r[0]) for r in rows)


def doc_ids(data_dir: Path) -> set[str]:
    """The documents an appliance holds (its log and segments)."""
    conn = connect(db_path(data_dir), writer=False)
    try:
        rows = conn.execute(
            "SELECT doc_id FROM crdt_update UNION SELECT doc_id FROM crdt_segment"
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}
