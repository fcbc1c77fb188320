from __future__ import annotations

import msgspec
import pytest

from edge.domain.errors import Conflict
from edge.domain.reports import DayReport, x_report, z_report
from shared.schemas.documents import (
    DrawerEntry,
    DrawerEntryKind,
    DrawerSession,
    Order,
    OrderState,
    OrderTotals,
    Payment,
    Refund,
    Tender,
)


def order(number: int, state: OrderState, **totals: int) -> Order:
    return Order(
        id=f"o{number}",
        number=number,
        business_day="2025-03-01",
        state=state,
        totals=OrderTotals(**totals),
        device_id="d1",
        opened_by="e1",
        opened_at_ms=0,
        updated_at_ms=0,
    )


def payment(tender: Tender, amount_minor: int, tip_minor: int = 0) -> Payment:
    return Payment(
        id=f"p-{tender}-{amount_minor}",
        order_id="o1",
        tender=tender,
        amount_minor=amount_minor,
        tip_minor=tip_minor,
        tendered_minor=amount_minor + tip_minor,
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


def refund(tender: Tender, amount_minor: int) -> Refund:
    return Refund(
        id=f"r-{amount_minor}",
        order_id="o1",
        tender=tender,
        amount_minor=amount_minor,
        reason="wrong dish",
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


def drawer_entry(
    kind: DrawerEntryKind, amount_minor: int = 0, session_id: str = "s1"
) -> DrawerEntry:
    return DrawerEntry(
        id=f"{kind}-{amount_minor}",
        session_id=session_id,
        kind=kind,
        amount_minor=amount_minor,
        by="e1",
        at_ms=0,
    )


def drawer_session(session_id: str = "s1", **fields: object) -> DrawerSession:
    return DrawerSession(id=session_id, opened_by="e1", opened_at_ms=0, float_minor=10000, **fields)


CLOSED_SESSION = drawer_session(
    state="closed",
    closed_by="e2",
    closed_at_ms=5,
    counted_minor=11400,
    expected_minor=11500,
    over_short_minor=-100,
)

ORDERS = [
    # exclusive tax: total = subtotal - discount + service + tax
    order(1, "closed", subtotal_minor=2000, discount_minor=200, service_minor=180, tax_minor=300,
          total_minor=2280, paid_minor=2280),
    order(2, "paid", subtotal_minor=1000, tax_minor=100, total_minor=1100, paid_minor=1100),
    order(3, "voided", subtotal_minor=900, total_minor=900),
    order(4, "open", subtotal_minor=500, total_minor=500, balance_minor=500),
    order(5, "sent", subtotal_minor=700, total_minor=700, paid_minor=200, balance_minor=500),
]  # fmt: skip
PAYMENTS = [
    payment("cash", 1500),
    payment("card", 780, 120),
    payment("card", 1100),
    payment("external", 200),
]
REFUNDS = [refund("card", 300)]
ENTRIES = [
    drawer_entry("sale", 1500),
    drawer_entry("paid_in", 500),
    drawer_entry("paid_out", 200),
    drawer_entry("refund", 300),
    drawer_entry("no_sale"),
    drawer_entry("no_sale"),
    drawer_entry("sale", 999, session_id="other"),
]


def x(**changes: object) -> DayReport:
    inputs: dict[str, object] = {
        "business_day": "2025-03-01",
        "generated_at_ms": 1234,
        "orders": ORDERS,
        "payments": PAYMENTS,
        "refunds": REFUNDS,
        "sessions": [drawer_session()],
        "entries": ENTRIES,
    }
    return x_report(**{**inputs, **changes})  # type: ignore[arg-type]


def test_report_carries_its_day_and_when_it_was_made() -> None:
    report = x()
    assert (report.kind, report.business_day, report.generated_at_ms) == ("x", "2025-03-01", 1234)


def test_report_counts_orders_by_state() -> None:
    assert x().orders_by_state == {
        "open": 1,
        "sent": 1,
        "paid": 1,
        "closed": 1,
        "voided": 1,
        "partially_refunded": 0,
        "refunded": 0,
    }


def test_report_counts_open_orders_and_what_they_still_owe() -> None:
    report = x()
    assert (report.open_orders, report.open_balance_minor) == (2, 1000)


def test_sales_figures_come_from_paid_and_closed_orders_only() -> None:
    report = x()
    assert report.gross_sales_minor == 3000
    assert report.discount_minor == 200
    assert report.service_minor == 180
    assert report.tax_minor == 400
    assert report.total_minor == 3380


def test_net_sales_leave_out_tax_service_and_refunds() -> None:
    assert x().net_sales_minor == (2280 - 300 - 180) + (1100 - 100) - 300


def test_tenders_are_summed_per_tender_with_tips_and_refunds() -> None:
    tenders = x().tenders
    assert set(tenders) == {"cash", "card", "external"}
    card = tenders["card"]
    assert (card.payment_count, card.amount_minor, card.tip_minor) == (2, 1880, 120)
    assert (card.refund_count, card.refund_minor, card.net_minor) == (1, 300, 1700)
    assert tenders["cash"].net_minor == 1500
    assert tenders["external"].amount_minor == 200


def test_tips_and_refunds_are_totalled() -> None:
    report = x()
    assert (report.tips_minor, report.refunds_minor) == (120, 300)


def test_open_drawer_summary_computes_expected_cash() -> None:
    (summary,) = x().drawers
    assert summary.state == "open"
    assert (summary.cash_sales_minor, summary.cash_refunds_minor) == (1500, 300)
    assert (summary.paid_in_minor, summary.paid_out_minor, summary.no_sale_count) == (500, 200, 2)
    assert summary.expected_minor == 10000 + 1500 + 500 - 200 - 300
    assert (summary.counted_minor, summary.over_short_minor) == (None, None)


def test_closed_drawer_summary_keeps_the_figures_it_closed_with() -> None:
    (summary,) = x(sessions=[CLOSED_SESSION]).drawers
    assert (summary.expected_minor, summary.counted_minor, summary.over_short_minor) == (
        11500,
        11400,
        -100,
    )


def test_empty_day_reports_zeros() -> None:
    report = x(orders=[], payments=[], refunds=[], sessions=[], entries=[])
    assert report.net_sales_minor == 0
    assert report.drawers == []
    assert all(t.net_minor == 0 for t in report.tenders.values())


def test_x_report_can_be_taken_with_orders_and_drawers_open() -> None:
    assert x().open_orders == 2


def test_z_report_is_refused_while_orders_or_drawers_are_open() -> None:
    with pytest.raises(Conflict, match="open orders #4, #5 and open drawer sessions s1") as caught:
        z_report(
            business_day="2025-03-01",
            generated_at_ms=1,
            orders=ORDERS,
            payments=PAYMENTS,
            refunds=REFUNDS,
            sessions=[drawer_session()],
            entries=ENTRIES,
        )
    assert caught.value.context["open_order_ids"] == ["o4", "o5"]
    assert caught.value.context["open_sessions"] == ["s1"]


def test_z_report_is_refused_for_an_open_drawer_alone() -> None:
    settled = [o for o in ORDERS if o.state not in ("open", "sent")]
    with pytest.raises(Conflict, match="open drawer sessions s1"):
        z_report(
            business_day="2025-03-01",
            generated_at_ms=1,
            orders=settled,
            payments=[],
            refunds=[],
            sessions=[CLOSED_SESSION, drawer_session("s1")],
            entries=[],
        )


def test_z_report_closes_a_settled_day() -> None:
    settled = [o for o in ORDERS if o.state not in ("open", "sent")]
    report = z_report(
        business_day="2025-03-01",
        generated_at_ms=99,
        orders=settled,
        payments=PAYMENTS,
        refunds=REFUNDS,
        sessions=[CLOSED_SESSION],
        entries=ENTRIES,
    )
    assert (report.kind, report.open_orders, report.generated_at_ms) == ("z", 0, 99)


def test_report_turns_into_plain_data_for_the_day_seal() -> None:
    data = msgspec.to_builtins(x())
    assert data["tenders"]["card"]["net_minor"] == 1700
    assert msgspec.json.decode(msgspec.json.encode(x()), type=DayReport) == x()
