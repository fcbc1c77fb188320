"""Refunds by tender and the order they leave: edge.domain.tenders.plan_refund,
edge.domain.order.after_refund and the refunded figures of edge.domain.totals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.errors import Conflict, DomainError, IllegalTransition, NotFound
from edge.domain.order import after_refund, rule
from edge.domain.tenders import plan_refund, tender_refundable
from edge.domain.totals import Receipt, compute_totals, receipt_balances
from shared.schemas.documents import OrderLine, OrderState, Payment, Refund, Tender

TENDERS: tuple[Tender, ...] = ("cash", "card", "external")


def payment(payment_id: str, tender: Tender, amount_minor: int, tip_minor: int = 0) -> Payment:
    return Payment(
        id=payment_id,
        order_id="o1",
        tender=tender,
        amount_minor=amount_minor,
        tip_minor=tip_minor,
        tendered_minor=amount_minor + tip_minor,
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


def refund(tender: Tender, amount_minor: int, payment_id: str | None = None, n: int = 0) -> Refund:
    return Refund(
        id=f"r{n}",
        order_id="o1",
        payment_id=payment_id,
        tender=tender,
        amount_minor=amount_minor,
        reason="cold",
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


# The order: £5.00 in cash and £2.10 on a card.
SPLIT = [payment("cash1", "cash", 500), payment("card1", "card", 210)]


# --- which tender, how much -----------------------------------------------------------------------


def test_a_card_refund_beyond_what_the_card_paid_is_refused_naming_the_limit() -> None:
    with pytest.raises(Conflict) as refused:
        plan_refund(SPLIT, [], tender="card", amount_minor=300)
    assert refused.value.context["refundable_minor"] == 210
    assert "210" in refused.value.detail


def test_a_refund_naming_only_the_tender_is_linked_to_its_payment() -> None:
    assert plan_refund(SPLIT, [], tender="card", amount_minor=210) == "card1"
    assert plan_refund(SPLIT, [], tender="cash", amount_minor=90) == "cash1"


def test_earlier_refunds_through_a_tender_reduce_what_it_still_holds() -> None:
    earlier = [refund("card", 200, "card1")]
    assert tender_refundable(SPLIT, earlier, "card") == 10
    with pytest.raises(Conflict):
        plan_refund(SPLIT, earlier, tender="card", amount_minor=11)
    # A refund with no payment linked counts against its tender all the same.
    assert tender_refundable(SPLIT, [refund("card", 200)], "card") == 10


def test_a_tender_that_did_not_pay_the_order_refunds_nothing() -> None:
    with pytest.raises(Conflict, match="not paid by external") as refused:
        plan_refund(SPLIT, [], tender="external", amount_minor=1)
    assert refused.value.context["refundable_minor"] == 0


def test_a_refund_goes_back_through_the_tender_of_the_payment_it_names() -> None:
    with pytest.raises(Conflict, match="taken by card") as refused:
        plan_refund(SPLIT, [], tender="cash", amount_minor=100, payment_id="card1")
    assert refused.value.context["payment_tender"] == "card"


def test_a_refund_naming_a_payment_is_capped_by_that_payment() -> None:
    payments = [payment("c1", "card", 300), payment("c2", "card", 400)]
    assert plan_refund(payments, [], tender="card", amount_minor=300, payment_id="c1") == "c1"
    with pytest.raises(Conflict) as refused:
        plan_refund(payments, [], tender="card", amount_minor=301, payment_id="c1")
    assert refused.value.context["refundable_minor"] == 300


def test_a_refund_spread_over_payments_of_one_tender_names_none() -> None:
    payments = [payment("c1", "card", 300), payment("c2", "card", 400)]
    assert plan_refund(payments, [], tender="card", amount_minor=350) == "c2"
    assert plan_refund(payments, [], tender="card", amount_minor=700) is None


def test_a_payment_of_another_order_is_not_found() -> None:
    with pytest.raises(NotFound):
        plan_refund(SPLIT, [], tender="card", amount_minor=1, payment_id="elsewhere")


def test_tips_are_not_refunded() -> None:
    tipped = [payment("card1", "card", 210, tip_minor=50)]
    assert tender_refundable(tipped, [], "card") == 210
    with pytest.raises(Conflict):
        plan_refund(tipped, [], tender="card", amount_minor=211)


# --- the order after refunds ----------------------------------------------------------------------


def test_a_refund_leaves_the_order_partly_refunded_until_it_holds_no_money() -> None:
    assert after_refund("paid", 410) == "partially_refunded"
    assert after_refund("closed", 410) == "partially_refunded"
    assert after_refund("partially_refunded", 0) == "refunded"
    assert after_refund("paid", 0) == "refunded"


@pytest.mark.parametrize("state", ["open", "sent", "voided", "refunded"])
def test_no_refund_on_an_unsettled_voided_or_refunded_order(state: OrderState) -> None:
    with pytest.raises(IllegalTransition):
        after_refund(state, 0)


@pytest.mark.parametrize("state", ["partially_refunded", "refunded"])
def test_a_refunded_order_takes_no_payment_and_is_not_reopened_or_closed(
    state: OrderState,
) -> None:
    for action in ("pay", "reopen", "close", "add_lines", "edit_lines", "send"):
        with pytest.raises(IllegalTransition):
            rule(state, action)  # type: ignore[arg-type]
    assert rule(state, "void").permission == "order.void_paid"


def totals_after(total_minor: int, payments: list[Payment], refunds: list[Refund]) -> Receipt:
    refunded = sum(r.amount_minor for r in refunds)
    line = OrderLine(id="l1", item_id="i1", name="Lunch", unit_price_minor=total_minor, quantity=1)
    return compute_totals(
        [line],
        [],
        service_charge_percent=None,
        tax_mode="inclusive",
        rounding="half_up",
        paid_minor=sum(p.amount_minor for p in payments) - refunded,
        tip_minor=sum(p.tip_minor for p in payments),
        refunded_minor=refunded,
    )


def test_a_fully_refunded_order_owes_nothing_and_is_owed_nothing() -> None:
    payments = [payment("p1", "card", 280)]
    receipt = totals_after(280, payments, [refund("card", 280, "p1")])
    totals = receipt.totals
    assert (totals.paid_minor, totals.refunded_minor, totals.balance_minor) == (0, 280, 0)
    assert receipt_balances(receipt, "inclusive")


# --- properties -----------------------------------------------------------------------------------

payments_strategy = st.lists(
    st.tuples(st.sampled_from(TENDERS), st.integers(1, 5000), st.integers(0, 300)),
    min_size=1,
    max_size=4,
).map(lambda rows: [payment(f"p{n}", t, a, tip) for n, (t, a, tip) in enumerate(rows)])

requests_strategy = st.lists(
    st.tuples(
        st.sampled_from(TENDERS),
        st.integers(1, 6000),
        st.one_of(st.none(), st.integers(0, 4)),  # a payment by position, or the tender only
    ),
    max_size=12,
)


def _allowed(
    payments: list[Payment], given: list[Refund], tender: Tender, amount: int, named: str | None
) -> bool:
    """The rule spelt out plainly: the tender paid, and holds the amount (so does the payment)."""
    of_tender = [p for p in payments if p.tender == tender]
    room = sum(p.amount_minor for p in of_tender) - sum(
        r.amount_minor for r in given if r.tender == tender
    )
    if named is not None:
        found = [p for p in of_tender if p.id == named]
        if not found:
            return False
        linked = sum(r.amount_minor for r in given if r.payment_id == named)
        room = min(room, found[0].amount_minor - linked)
    return bool(of_tender) and amount <= room


def _refund_sequence(
    payments: list[Payment], requests: list[tuple[Tender, int, int | None]]
) -> list[Refund]:
    given: list[Refund] = []
    for n, (tender, amount, position) in enumerate(requests):
        named = None if position is None else f"p{position}"
        allowed = _allowed(payments, given, tender, amount, named)
        try:
            linked = plan_refund(
                payments, given, tender=tender, amount_minor=amount, payment_id=named
            )
        except DomainError:
            assert not allowed
            continue
        assert allowed
        given.append(refund(tender, amount, linked, n))
    return given


@settings(max_examples=300, deadline=None)
@given(payments_strategy, requests_strategy)
def test_refunds_never_exceed_what_a_tender_or_a_payment_paid(
    payments: list[Payment], requests: list[tuple[Tender, int, int | None]]
) -> None:
    given_back = _refund_sequence(payments, requests)
    for tender in TENDERS:
        paid = sum(p.amount_minor for p in payments if p.tender == tender)
        back = [r for r in given_back if r.tender == tender]
        assert sum(r.amount_minor for r in back) <= paid
        # so a tender's net (payments, tips, less refunds) never goes below its tips
        assert all(r.tender in {p.tender for p in payments} for r in back)
    for p in payments:
        linked = sum(r.amount_minor for r in given_back if r.payment_id == p.id)
        assert linked <= p.amount_minor
        assert all(r.tender == p.tender for r in given_back if r.payment_id == p.id)


@settings(max_examples=300, deadline=None)
@given(payments_strategy)
def test_what_a_tender_holds_can_always_be_refunded_exactly(payments: list[Payment]) -> None:
    given_back: list[Refund] = []
    for n, tender in enumerate(dict.fromkeys(p.tender for p in payments)):
        room = tender_refundable(payments, given_back, tender)
        linked = plan_refund(payments, given_back, tender=tender, amount_minor=room)
        given_back.append(refund(tender, room, linked, n))
    assert sum(r.amount_minor for r in given_back) == sum(p.amount_minor for p in payments)
    for tender in TENDERS:
        assert tender_refundable(payments, given_back, tender) == 0


@settings(max_examples=300, deadline=None)
@given(payments_strategy, requests_strategy, st.sampled_from(["paid", "closed"]))
def test_state_and_balance_read_right_after_any_sequence_of_partial_refunds(
    payments: list[Payment],
    requests: list[tuple[Tender, int, int | None]],
    settled: OrderState,
) -> None:
    total_minor = sum(p.amount_minor for p in payments)  # paid in full
    state: OrderState = settled
    given_back: list[Refund] = []
    for n, (tender, amount, position) in enumerate(requests):
        named = None if position is None else f"p{position}"
        try:
            rule(state, "refund")
            linked = plan_refund(
                payments, given_back, tender=tender, amount_minor=amount, payment_id=named
            )
        except DomainError:
            continue
        given_back.append(refund(tender, amount, linked, n))
        receipt = totals_after(total_minor, payments, given_back)
        state = after_refund(state, receipt.totals.paid_minor)
        totals = receipt.totals
        assert totals.balance_minor == 0  # owes nothing, is owed nothing
        assert totals.paid_minor + totals.refunded_minor == total_minor
        assert totals.refunded_minor == sum(r.amount_minor for r in given_back)
        assert state == ("refunded" if totals.paid_minor == 0 else "partially_refunded")
        assert receipt_balances(receipt, "inclusive")
    if state == "refunded":
        with pytest.raises(IllegalTransition):
            rule(state, "refund")
