"""Day reports as data: the X report (any time, changes nothing) and the Z report (closes the day).

Sales figures come from orders that are settled (paid, closed, partially refunded or refunded:
a refund takes its money off net sales, not the sale off the day); open and sent orders are only
counted and their outstanding balance shown, voided orders only counted. Tender figures come from
payments and refunds whatever their order's state, because they are money that moved; a refund
goes back through a tender that paid its order and never beyond what it holds
(edge.domain.tenders), so a tender's net goes below zero only for refunds of an earlier day's
sales. Orders carry totals only,
so tax is one figure, not split per rate.

Net sales are what was sold, net of discounts and refunds, without tax or service charge:
``sum(total - tax - service) - refunds``. Refunds carry no tax split, so they are taken off whole.
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

from edge.domain.drawer import ENTRY_SIGN, expected_cash
from edge.domain.errors import Conflict
from shared.schemas.documents import (
    DrawerEntry,
    DrawerSession,
    Order,
    OrderState,
    Payment,
    Refund,
    Tender,
)

_SOLD: tuple[OrderState, ...] = ("paid", "closed", "partially_refunded", "refunded")
_OPEN: tuple[OrderState, ...] = ("open", "sent")


class TenderSummary(msgspec.Struct, kw_only=True):
    """Money taken and given back through one tender."""

    payment_count: int = 0
    amount_minor: int = 0  # applied to orders
    tip_minor: int = 0
    refund_count: int = 0
    refund_minor: int = 0
    net_minor: int = 0  # amount + tip - refunds


class DrawerSummary(msgspec.Struct, kw_only=True):
    """One drawer session's cash: expected is computed even while the session is open."""

    session_id: str
    drawer_id: str
    state: Literal["open", "closed"]
    float_minor: int
    cash_sales_minor: int
    cash_refunds_minor: int
    paid_in_minor: int
    paid_out_minor: int
    no_sale_count: int
    expected_minor: int
    counted_minor: int | None
    over_short_minor: int | None


class DayReport(msgspec.Struct, kw_only=True):
    """An X or Z report of one business day."""

    kind: Literal["x", "z"]
    business_day: str
    generated_at_ms: int
    orders_by_state: dict[str, int]
    open_orders: int
    open_balance_minor: int
    gross_sales_minor: int
    discount_minor: int
    service_minor: int
    tax_minor: int
    total_minor: int
    refunds_minor: int
    net_sales_minor: int
    tips_minor: int
    tenders: dict[str, TenderSummary]
    drawers: list[DrawerSummary]


def _tender_summaries(payments: list[Payment], refunds: list[Refund]) -> dict[str, TenderSummary]:
    summaries: dict[str, TenderSummary] = {t: TenderSummary() for t in get_args(Tender)}
    for payment in payments:
        s = summaries[payment.tender]
        s.payment_count += 1
        s.amount_minor += payment.amount_minor
        s.tip_minor += payment.tip_minor
    for refund in refunds:
        s = summaries[refund.tender]
        s.refund_count += 1
        s.refund_minor += refund.amount_minor
    for s in summaries.values():
        s.net_minor = s.amount_minor + s.tip_minor - s.refund_minor
    return summaries


def _drawer_summary(session: DrawerSession, entries: list[DrawerEntry]) -> DrawerSummary:
    mine = [e for e in entries if e.session_id == session.id]
    moved: dict[str, int] = {kind: 0 for kind in ENTRY_SIGN}
    for entry in mine:
        moved[entry.kind] += entry.amount_minor
    return DrawerSummary(
        session_id=session.id,
        drawer_id=session.drawer_id,
        state=session.state,
        float_minor=session.float_minor,
        cash_sales_minor=moved["sale"],
        cash_refunds_minor=moved["refund"],
        paid_in_minor=moved["paid_in"],
        paid_out_minor=moved["paid_out"],
        no_sale_count=sum(1 for e in mine if e.kind == "no_sale"),
        # A closed session keeps the figure it was closed with; recomputing could differ if an
        # entry arrived late by sync, and the difference is what a manager must see.
        expected_minor=(
            session.expected_minor
            if session.expected_minor is not None
            else expected_cash(session, mine)
        ),
        counted_minor=session.counted_minor,
        over_short_minor=session.over_short_minor,
    )


def _build(
    kind: Literal["x", "z"],
    business_day: str,
    generated_at_ms: int,
    orders: list[Order],
    payments: list[Payment],
    refunds: list[Refund],
    sessions: list[DrawerSession],
    entries: list[DrawerEntry],
) -> DayReport:
    by_state: dict[str, int] = {state: 0 for state in get_args(OrderState)}
    for order in orders:
        by_state[order.state] += 1
    sold = [o.totals for o in orders if o.state in _SOLD]
    refunds_minor = sum(r.amount_minor for r in refunds)
    tenders = _tender_summaries(payments, refunds)
    return DayReport(
        kind=kind,
        business_day=business_day,
        generated_at_ms=generated_at_ms,
        orders_by_state=by_state,
        open_orders=sum(by_state[s] for s in _OPEN),
        open_balance_minor=sum(o.totals.balance_minor for o in orders if o.state in _OPEN),
        gross_sales_minor=sum(t.subtotal_minor for t in sold),
        discount_minor=sum(t.discount_minor for t in sold),
        service_minor=sum(t.service_minor for t in sold),
        tax_minor=sum(t.tax_minor for t in sold),
        total_minor=sum(t.total_minor for t in sold),
        refunds_minor=refunds_minor,
        net_sales_minor=sum(t.total_minor - t.tax_minor - t.service_minor for t in sold)
        - refunds_minor,
        tips_minor=sum(s.tip_minor for s in tenders.values()),
        tenders=tenders,
        drawers=[_drawer_summary(s, entries) for s in sorted(sessions, key=_session_key)],
    )


def _session_key(session: DrawerSession) -> tuple[int, str]:
    return (session.opened_at_ms, session.id)


def x_report(
    *,
    business_day: str,
    generated_at_ms: int,
    orders: list[Order],
    payments: list[Payment],
    refunds: list[Refund],
    sessions: list[DrawerSession],
    entries: list[DrawerEntry],
) -> DayReport:
    """The day so far; may be taken at any time and closes nothing."""
    return _build("x", business_day, generated_at_ms, orders, payments, refunds, sessions, entries)


def z_report(
    *,
    business_day: str,
    generated_at_ms: int,
    orders: list[Order],
    payments: list[Payment],
    refunds: list[Refund],
    sessions: list[DrawerSession],
    entries: list[DrawerEntry],
) -> DayReport:
    """The day's closing report; refused while any order is unsettled or any drawer is open."""
    unsettled = sorted((o for o in orders if o.state in _OPEN), key=lambda o: o.number)
    open_orders = [o.number for o in unsettled]
    open_sessions = sorted(s.id for s in sessions if s.state == "open")
    if open_orders or open_sessions:
        problems = []
        if open_orders:
            problems.append("open orders " + ", ".join(f"#{n}" for n in open_orders))
        if open_sessions:
            problems.append("open drawer sessions " + ", ".join(open_sessions))
        raise Conflict(
            f"the day cannot close with {' and '.join(problems)}",
            open_orders=open_orders,
            open_order_ids=[o.id for o in unsettled],
            open_sessions=open_sessions,
        )
    return _build("z", business_day, generated_at_ms, orders, payments, refunds, sessions, entries)
