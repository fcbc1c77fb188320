"""Cash drawer: open a till with a counted float, move cash without a sale, close with a count.

Sessions live in the day document of the day they were opened (a close keeps that document);
entries live in the day document of the day they happen and point at their session by id.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.drawer import queries
from edge.app.drawer.schemas import SessionView
from edge.app.drawer.till import append_entry, require_open_session
from edge.domain import drawer
from edge.domain.business_day import parse_day
from edge.domain.errors import Conflict, NotFound
from edge.domain.permissions import (
    DRAWER_NO_SALE,
    DRAWER_PAID_IN_OUT,
    DRAWER_REPORT,
    authorize,
    has_permission,
)
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import DrawerEntry, DrawerEntryKind, DrawerSession


def _view(
    session: DrawerSession,
    doc_id: str,
    actor: Actor,
    entries: list[DrawerEntry],
    *,
    with_entries: bool = False,
) -> SessionView:
    fields = msgspec.structs.asdict(session)
    if session.state == "open":
        # A cashier counts blind: the running figure is for roles that read drawer reports.
        live = has_permission(actor.role, DRAWER_REPORT)
        fields["expected_minor"] = drawer.expected_cash(session, entries) if live else None
    return SessionView(
        **fields,
        business_day=queries.day_of_doc(doc_id),
        entries=entries if with_entries else None,
    )


def open_drawer(
    edge: Edge, actor: Actor, counts: dict[str, int], session_id: str | None = None
) -> Callable[[WriteTx], tuple[SessionView, bool]]:
    """A command opening the main drawer with a counted float (a retried id returns the session)."""
    new_id = session_id or uuid7()

    def command(tx: WriteTx) -> tuple[SessionView, bool]:
        existing = queries.session_with_doc(tx.conn, new_id)
        if existing is not None:
            return _view(*existing, actor, queries.session_entries(tx.conn, [new_id])), False
        settings = edge.settings(tx.conn)
        current = queries.open_session(tx.conn)
        session = drawer.open_session(
            session_id=new_id,
            opened_by=actor.employee_id,
            opened_at_ms=tx.at_ms,
            float_minor=drawer.count_cash(counts, settings.denominations_minor),
            float_counts=counts,
            denominations_minor=settings.denominations_minor,
            drawer_id=queries.MAIN_DRAWER,
            sessions=[current] if current else [],
        )
        day = edge.open_day(tx.conn, tx.at_ms, settings)
        tx.put(edge.day_doc(day), "drawer_sessions", session)
        audit(
            tx,
            edge,
            actor,
            "drawer.open",
            "drawer_session",
            session.id,
            day=day,
            detail={"float_minor": session.float_minor, "drawer_id": session.drawer_id},
        )
        tx.publish("drawer.opened", session)
        return _view(session, edge.day_doc(day), actor, []), True

    return command


def _earlier(
    tx: WriteTx, entry_id: str, kind: DrawerEntryKind, amount_minor: int
) -> DrawerEntry | None:
    """The entry an earlier try of the same request recorded, if any."""
    existing = queries.entry_by_id(tx.conn, entry_id)
    if existing is not None and (existing.kind, existing.amount_minor) != (kind, amount_minor):
        raise Conflict(
            f"drawer entry {entry_id} already exists as another movement", entry_id=entry_id
        )
    return existing


def _record(tx: WriteTx, edge: Edge, actor: Actor, entry: DrawerEntry) -> None:
    """Append an entry to the day document of the day it happens; audit and publish it."""
    day = append_entry(tx, edge, entry)
    detail = {
        "session_id": entry.session_id,
        "amount_minor": entry.amount_minor,
        "reason": entry.reason,
    }
    audit(
        tx,
        edge,
        actor,
        f"drawer.{entry.kind}",
        "drawer_entry",
        entry.id,
        day=day,
        approved_by=entry.approved_by,
        detail=detail,
    )


def move_cash(
    edge: Edge,
    actor: Actor,
    kind: DrawerEntryKind,
    amount_minor: int,
    reason: str | None,
    approver: Actor | None = None,
    entry_id: str | None = None,
) -> Callable[[WriteTx], tuple[DrawerEntry, bool]]:
    """A command recording a paid in, paid out or no-sale on the open session of the main drawer."""
    permission = DRAWER_NO_SALE if kind == "no_sale" else DRAWER_PAID_IN_OUT
    approval = authorize(actor.role, permission, approver.role if approver else None)
    approved_by = approver.employee_id if approver and approval == "override" else None
    reason = (reason or "").strip() or None
    new_id = entry_id or uuid7()

    def command(tx: WriteTx) -> tuple[DrawerEntry, bool]:
        if (earlier := _earlier(tx, new_id, kind, amount_minor)) is not None:
            return earlier, False
        session = require_open_session(tx.conn)
        available = drawer.expected_cash(session, queries.session_entries(tx.conn, [session.id]))
        drawer.check_entry(kind, amount_minor, reason, available_minor=available)
        entry = DrawerEntry(
            id=new_id,
            session_id=session.id,
            kind=kind,
            amount_minor=amount_minor,
            reason=reason,
            by=actor.employee_id,
            approved_by=approved_by,
            at_ms=tx.at_ms,
        )
        _record(tx, edge, actor, entry)
        return entry, True

    return command


def close_drawer(
    edge: Edge, actor: Actor, session_id: str, counts: dict[str, int]
) -> Callable[[WriteTx], SessionView]:
    """A command closing a session with the cash counted out: expected, counted, over/short."""

    def command(tx: WriteTx) -> SessionView:
        found = queries.session_with_doc(tx.conn, session_id)
        if found is None:
            raise NotFound(f"no drawer session {session_id}", session_id=session_id)
        session, doc_id = found
        entries = queries.session_entries(tx.conn, [session.id])
        closed = drawer.close_session(
            session,
            entries,
            counts,
            edge.settings(tx.conn).denominations_minor,
            actor.employee_id,
            tx.at_ms,
        )
        # The session stays in the document of the day it was opened.
        tx.put(doc_id, "drawer_sessions", closed)
        audit(
            tx,
            edge,
            actor,
            "drawer.close",
            "drawer_session",
            closed.id,
            detail={
                "expected_minor": closed.expected_minor,
                "counted_minor": closed.counted_minor,
                "over_short_minor": closed.over_short_minor,
            },
        )
        tx.publish("drawer.closed", closed)
        return _view(closed, doc_id, actor, entries)

    return command


def current_session(edge: Edge, actor: Actor) -> SessionView:
    """The open session of the main drawer with its live expected cash."""
    conn = edge.store.read
    session = queries.open_session(conn)
    found = queries.session_with_doc(conn, session.id) if session else None
    if found is None:
        raise NotFound("no till session is open on the main drawer", drawer_id=queries.MAIN_DRAWER)
    return _view(*found, actor, queries.session_entries(conn, [found[0].id]))


def list_sessions(edge: Edge, actor: Actor, day: str | None) -> list[SessionView]:
    """Sessions opened on a business day (default: the open day), oldest first."""
    conn = edge.store.read
    if day is None:
        day = edge.open_day(conn, edge.clock(), edge.settings(conn))
    else:
        parse_day(day)
    doc_id = edge.day_doc(day)
    sessions = queries.sessions_of_doc(conn, doc_id)
    entries = queries.session_entries(conn, [s.id for s in sessions])
    return [_view(s, doc_id, actor, entries) for s in sessions]


def session_detail(edge: Edge, actor: Actor, session_id: str) -> SessionView:
    """One session with all its entries."""
    conn = edge.store.read
    found = queries.session_with_doc(conn, session_id)
    if found is None:
        raise NotFound(f"no drawer session {session_id}", session_id=session_id)
    entries = queries.session_entries(conn, [session_id])
    return _view(*found, actor, entries, with_entries=True)
