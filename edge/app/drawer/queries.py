"""Reads of drawer projections shared by the drawer, order and report areas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import apsw
import msgspec

from edge.store import rowdata
from edge.store.memo import memoised
from shared.schemas.documents import DrawerEntry, DrawerSession

MAIN_DRAWER = "main"

S = TypeVar("S", bound=msgspec.Struct)


def open_session(conn: apsw.Connection, drawer_id: str = MAIN_DRAWER) -> DrawerSession | None:
    """The drawer's open till session, if any (at most one per drawer; memoised in the writer)."""
    return memoised(conn, "drawer_sessions", drawer_id, lambda: _open_session(conn, drawer_id))


def _open_session(conn: apsw.Connection, drawer_id: str) -> DrawerSession | None:
    row = conn.execute(
        "SELECT data FROM drawer_sessions WHERE drawer_id = ? AND state = 'open'"
        " ORDER BY opened_at_ms DESC LIMIT 1",
        (drawer_id,),
    ).fetchone()
    return rowdata.decode(row[0], DrawerSession) if row else None


def session_with_doc(conn: apsw.Connection, session_id: str) -> tuple[DrawerSession, str] | None:
    """A session and the id of the day document that holds it (the day it was opened)."""
    row = conn.execute(
        "SELECT data, doc_id FROM drawer_sessions WHERE id = ?", (session_id,)
    ).fetchone()
    return (rowdata.decode(row[0], DrawerSession), str(row[1])) if row else None


def sessions_of_doc(conn: apsw.Connection, doc_id: str) -> list[DrawerSession]:
    """The sessions opened in one day document, oldest first."""
    rows = conn.execute(
        "SELECT data FROM drawer_sessions WHERE doc_id = ? ORDER BY opened_at_ms, id", (doc_id,)
    )
    return rowdata.decode_rows(rows, DrawerSession)


def sessions_with_entries_in(conn: apsw.Connection, doc_id: str) -> list[DrawerSession]:
    """Sessions opened in one day document or holding cash movements recorded in it."""
    rows = conn.execute(
        "SELECT data FROM drawer_sessions WHERE doc_id = ?1 OR id IN"
        " (SELECT session_id FROM drawer_entries WHERE doc_id = ?1)"
        " ORDER BY opened_at_ms, id",
        (doc_id,),
    )
    return rowdata.decode_rows(rows, DrawerSession)


def session_entries(conn: apsw.Connection, session_ids: Iterable[str]) -> list[DrawerEntry]:
    """Every entry of the given sessions, whichever day document holds it, in time order."""
    ids = list(session_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"SELECT data FROM drawer_entries WHERE session_id IN ({marks}) ORDER BY at_ms, id", ids
    )
    return rowdata.decode_rows(rows, DrawerEntry)


def entry_by_id(conn: apsw.Connection, entry_id: str) -> DrawerEntry | None:
    """One drawer entry, wherever it is held."""
    row = conn.execute("SELECT data FROM drawer_entries WHERE id = ?", (entry_id,)).fetchone()
    return rowdata.decode(row[0], DrawerEntry) if row else None


def day_of_doc(doc_id: str) -> str:
    """The business day ("YYYY-MM-DD") of a day document id."""
    return doc_id.rsplit("/", 1)[-1]
