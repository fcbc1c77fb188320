"""The till's cash ledger as the drawer and order areas both write it."""

from __future__ import annotations

import apsw

from edge.app.context import Edge
from edge.app.drawer.queries import open_session
from edge.store.writer import WriteTx
from shared.problems import ApiError
from shared.schemas.documents import DrawerEntry, DrawerSession


def require_open_session(conn: apsw.Connection) -> DrawerSession:
    """The main drawer's open session, or a 409 telling the cashier to open the till."""
    session = open_session(conn)
    if session is None:
        raise ApiError(
            409,
            "drawer-closed",
            "No till is open for cash: open the drawer with a counted float first"
            " (POST /api/v1/drawer/sessions), or take the payment by card.",
        )
    return session


def append_entry(tx: WriteTx, edge: Edge, entry: DrawerEntry) -> str:
    """Append a cash movement to the day document of the day it happens; return that day."""
    day = edge.open_day(tx.conn, tx.at_ms, edge.settings(tx.conn))
    tx.put(edge.day_doc(day), "drawer_entries", entry)
    tx.publish(f"drawer.{entry.kind}", entry)
    return day
