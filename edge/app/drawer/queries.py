"""Reads of drawer projections shared by the drawer and order areas."""

from __future__ import annotations

import apsw
import msgspec

from shared.schemas.documents import DrawerSession

MAIN_DRAWER = "main"


def open_session(conn: apsw.Connection, drawer_id: str = MAIN_DRAWER) -> DrawerSession | None:
    """The drawer's open till session, if any (at most one per drawer)."""
    row = conn.execute(
        "SELECT data FROM drawer_sessions WHERE drawer_id = ? AND state = 'open'"
        " ORDER BY opened_at_ms DESC LIMIT 1",
        (drawer_id,),
    ).fetchone()
    return msgspec.json.decode(row[0], type=DrawerSession) if row else None
