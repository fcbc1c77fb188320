"""Day reports: the X report read from projections, and the Z report that seals a business day."""

from __future__ import annotations

from collections.abc import Callable

import apsw
import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.context import Edge, is_sealed
from edge.app.drawer import queries
from edge.domain import reports
from edge.domain.business_day import business_day, parse_day
from edge.domain.errors import InvalidInput, NotFound
from edge.domain.reports import DayReport
from edge.store import rowdata
from edge.store.writer import WriteTx
from shared.problems import ApiError
from shared.schemas.documents import DaySeal, DrawerEntry, DrawerSession, Order, Payment, Refund


class SealedDay(msgspec.Struct, kw_only=True):
    """A closed business day: who sealed it, when, and its Z report."""

    business_day: str
    sealed_by: str
    sealed_at_ms: int
    report: DayReport


class _DayFacts(msgspec.Struct, kw_only=True):
    orders: list[Order]
    payments: list[Payment]
    refunds: list[Refund]
    sessions: list[DrawerSession]
    entries: list[DrawerEntry]


def _facts(conn: apsw.Connection, doc_id: str) -> _DayFacts:
    def rows(table: str, order_by: str) -> list[tuple[str]]:
        sql = f"SELECT data FROM {table} WHERE doc_id = ? ORDER BY {order_by}, id"
        return conn.execute(sql, (doc_id,)).fetchall()

    # A session shows whole in every day it touched: opened that day or moved cash that day.
    sessions = queries.sessions_with_entries_in(conn, doc_id)
    return _DayFacts(
        orders=rowdata.decode_rows(rows("orders", "number"), Order),
        payments=rowdata.decode_rows(rows("payments", "taken_at_ms"), Payment),
        refunds=rowdata.decode_rows(rows("refunds", "taken_at_ms"), Refund),
        sessions=sessions,
        entries=queries.session_entries(conn, [s.id for s in sessions]),
    )


def _build(
    build: Callable[..., DayReport], business_day: str, at_ms: int, facts: _DayFacts
) -> DayReport:
    return build(
        business_day=business_day,
        generated_at_ms=at_ms,
        orders=facts.orders,
        payments=facts.payments,
        refunds=facts.refunds,
        sessions=facts.sessions,
        entries=facts.entries,
    )


def _day(
    edge: Edge, conn: apsw.Connection, at_ms: int, day: str | None, *, closing: bool = False
) -> str:
    """The asked-for day, or by default the open business day; a day not yet begun is refused."""
    settings = edge.settings(conn)
    open_day = edge.open_day(conn, at_ms, settings)
    if day is None and closing:
        # A Z closes the day the clock is in, even when sealed: a second tap on "close day" must
        # answer "already closed", not seal tomorrow.
        return business_day(at_ms, settings.timezone, settings.business_day_cutoff)
    if day is None:
        return open_day
    if parse_day(day) > parse_day(open_day):
        raise InvalidInput(
            f"business day {day} has not begun (the open day is {open_day})",
            business_day=day,
            open_day=open_day,
        )
    return day


def x_report(edge: Edge, day: str | None) -> DayReport:
    """The day so far (default: the open business day); changes nothing."""
    conn = edge.store.read
    now = edge.clock()
    day = _day(edge, conn, now, day)
    facts = _facts(conn, edge.day_doc(day))
    return _build(reports.x_report, day, now, facts)


def close_day(edge: Edge, actor: Actor, day: str | None) -> Callable[[WriteTx], SealedDay]:
    """A command taking the Z report of a day and sealing it: later sales go to the next day."""

    def command(tx: WriteTx) -> SealedDay:
        closing = _day(edge, tx.conn, tx.at_ms, day, closing=True)
        doc_id = edge.day_doc(closing)
        if is_sealed(tx.conn, doc_id):
            raise ApiError(409, "day-sealed", f"Business day {closing} is already closed.")
        report = _build(reports.z_report, closing, tx.at_ms, _facts(tx.conn, doc_id))
        seal = DaySeal(
            business_day=closing,
            sealed_by=actor.employee_id,
            sealed_at_ms=tx.at_ms,
            report=msgspec.to_builtins(report),
        )
        tx.set(doc_id, "seal", "seal", seal)
        # The sealed day's own document records who closed it.
        audit(
            tx,
            edge,
            actor,
            "day.close",
            "day",
            closing,
            day=closing,
            detail={"net_sales_minor": report.net_sales_minor, "total_minor": report.total_minor},
        )
        tx.publish("day.closed", {"business_day": closing, "sealed_by": actor.employee_id})
        return SealedDay(
            business_day=closing,
            sealed_by=seal.sealed_by,
            sealed_at_ms=seal.sealed_at_ms,
            report=report,
        )

    return command


def sealed_day(edge: Edge, day: str) -> SealedDay:
    """The Z report a day was sealed with."""
    parse_day(day)
    row = edge.store.read.execute(
        "SELECT value FROM doc_values WHERE doc_id = ? AND collection = 'seal' AND key = 'seal'",
        (edge.day_doc(day),),
    ).fetchone()
    if row is None:
        raise NotFound(f"business day {day} has not been closed", business_day=day)
    seal = msgspec.json.decode(row[0], type=DaySeal)
    return SealedDay(
        business_day=seal.business_day,
        sealed_by=seal.sealed_by,
        sealed_at_ms=seal.sealed_at_ms,
        report=msgspec.convert(seal.report, DayReport),
    )
