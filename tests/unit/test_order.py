from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.errors import Conflict, IllegalTransition
from edge.domain.order import (
    ACTIONS,
    STATES,
    TRANSITIONS,
    Action,
    Rule,
    check_action,
    live_lines,
    rule,
    settle,
    transition,
)
from edge.domain.permissions import ALL_PERMISSIONS
from shared.schemas.documents import Order, OrderLine, OrderState, OrderTotals


def line(line_id: str = "l1", *, sent: bool = False, voided: bool = False) -> OrderLine:
    return OrderLine(
        id=line_id,
        item_id="i1",
        name="Flat white",
        unit_price_minor=350,
        quantity=1,
        sent=sent,
        voided=voided,
    )


def order(
    state: OrderState = "open",
    lines: list[OrderLine] | None = None,
    paid_minor: int = 0,
    total_minor: int = 350,
) -> Order:
    totals = OrderTotals(
        total_minor=total_minor, paid_minor=paid_minor, balance_minor=total_minor - paid_minor
    )
    return Order(
        id="o1",
        number=7,
        business_day="2025-03-01",
        state=state,
        lines=[line()] if lines is None else lines,
        totals=totals,
        device_id="d1",
        opened_by="e1",
        opened_at_ms=0,
        updated_at_ms=0,
    )


# --- the table ------------------------------------------------------------------------------------


def test_table_names_only_known_states_actions_and_permissions() -> None:
    for (state, action), found in TRANSITIONS.items():
        assert state in STATES
        assert action in ACTIONS
        assert found.to is None or found.to in STATES
        assert found.permission in ALL_PERMISSIONS


def test_every_pair_outside_the_table_is_refused() -> None:
    for state in STATES:
        for action in ACTIONS:
            if (state, action) not in TRANSITIONS:
                with pytest.raises(IllegalTransition):
                    rule(state, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_voided_order_accepts_nothing(action: Action) -> None:
    with pytest.raises(IllegalTransition):
        transition("voided", action)


def test_refusal_names_the_state_and_the_action() -> None:
    with pytest.raises(IllegalTransition, match=r"closed.*add_lines") as caught:
        transition("closed", "add_lines")
    assert caught.value.context == {"state": "closed", "action": "add_lines"}


def test_unknown_action_is_refused() -> None:
    with pytest.raises(IllegalTransition, match=r"open.*teleport"):
        transition("open", "teleport")  # type: ignore[arg-type]


@pytest.mark.parametrize("state", ["open", "sent"])
@pytest.mark.parametrize("action", ["add_lines", "edit_lines", "pay"])
def test_open_and_sent_orders_take_lines_edits_and_payments(
    state: OrderState, action: Action
) -> None:
    assert transition(state, action) == state


def test_send_moves_an_open_order_to_sent() -> None:
    assert transition("open", "send") == "sent"
    assert rule("open", "send").permission == "order.send"


def test_sending_new_lines_keeps_a_sent_order_sent() -> None:
    assert transition("sent", "send") == "sent"


def test_pay_needs_payment_take_and_leaves_the_state_to_settle() -> None:
    assert rule("open", "pay") == Rule(to=None, permission="payment.take")


def test_close_moves_a_paid_order_to_closed() -> None:
    assert transition("paid", "close") == "closed"


def test_a_closed_order_cannot_be_closed_again() -> None:
    with pytest.raises(IllegalTransition):
        transition("closed", "close")


# Open and sent orders used to be refused "close" by the table itself. The table now allows it so
# a zero-total order can be settled without money; that closing never skips a payment is checked
# against the order's balance in check_action (see "content" below).
@pytest.mark.parametrize("state", ["open", "sent"])
def test_closing_an_unpaid_order_settles_the_bill_and_needs_payment_take(
    state: OrderState,
) -> None:
    assert rule(state, "close") == Rule(to="closed", permission="payment.take")
    assert transition(state, "close") == "closed"


@pytest.mark.parametrize("state", ["paid", "closed"])
@pytest.mark.parametrize("action", ["add_lines", "edit_lines", "send", "pay"])
def test_a_settled_order_must_be_reopened_before_it_changes(
    state: OrderState, action: Action
) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, action)


@pytest.mark.parametrize("state", ["open", "sent"])
def test_void_before_payment_needs_order_void_without_override(state: OrderState) -> None:
    assert rule(state, "void") == Rule(to="voided", permission="order.void", override=False)
    assert transition(state, "void") == "voided"


@pytest.mark.parametrize("state", ["paid", "closed"])
def test_void_after_payment_needs_override(state: OrderState) -> None:
    found = rule(state, "void")
    assert (found.to, found.permission, found.override) == ("voided", "order.void_paid", True)


@pytest.mark.parametrize("state", ["open", "sent"])
def test_void_of_a_partly_paid_order_needs_override(state: OrderState) -> None:
    found = rule(state, "void", paid_minor=100)
    assert (found.permission, found.override) == ("order.void_paid", True)


@pytest.mark.parametrize("state", ["paid", "closed"])
def test_reopen_needs_override_and_goes_to_open(state: OrderState) -> None:
    found = rule(state, "reopen")
    assert (found.to, found.permission, found.override) == ("open", "order.reopen", True)


@pytest.mark.parametrize("state", ["open", "sent"])
def test_an_unsettled_order_cannot_be_reopened(state: OrderState) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, "reopen")


@pytest.mark.parametrize("state", ["paid", "closed", "partially_refunded"])
def test_refund_needs_override_and_leaves_the_order_partly_refunded(state: OrderState) -> None:
    found = rule(state, "refund")
    assert (found.to, found.permission, found.override) == (
        "partially_refunded",
        "payment.refund",
        True,
    )
    assert transition(state, "refund") == "partially_refunded"


@pytest.mark.parametrize("state", ["open", "sent"])
def test_refund_of_an_unsettled_order_is_refused(state: OrderState) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, "refund")


# --- settle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["open", "sent"])
def test_payment_that_clears_the_balance_makes_the_order_paid(state: OrderState) -> None:
    assert settle(state, 0, 1200) == "paid"


@pytest.mark.parametrize("state", ["open", "sent"])
def test_partial_payment_leaves_the_state(state: OrderState) -> None:
    assert settle(state, 200, 1200) == state


def test_zero_total_order_is_never_paid_by_settle() -> None:
    # Still true: a zero-total order is closed on request (check_action), never paid by accident.
    assert settle("open", 0, 0) == "open"


@pytest.mark.parametrize("state", ["paid", "closed", "voided"])
def test_settle_never_moves_a_settled_or_voided_order(state: OrderState) -> None:
    assert settle(state, 0, 1200) == state
    assert settle(state, 500, 1200) == state


def test_settle_refuses_an_overpaid_order() -> None:
    with pytest.raises(Conflict, match="overpaid by 50"):
        settle("open", -50, 1200)


# --- content --------------------------------------------------------------------------------------


def test_live_lines_skip_voided_lines() -> None:
    assert [x.id for x in live_lines([line("a"), line("b", voided=True)])] == ["a"]


@pytest.mark.parametrize("action", ["send", "pay"])
def test_empty_order_cannot_be_sent_or_paid(action: Action) -> None:
    with pytest.raises(IllegalTransition, match=f"no lines to {action}"):
        check_action(order(lines=[]), action)


@pytest.mark.parametrize("action", ["send", "pay", "close"])
def test_order_of_only_voided_lines_counts_as_empty(action: Action) -> None:
    with pytest.raises(IllegalTransition):
        check_action(order(lines=[line(voided=True)], total_minor=0), action)


@pytest.mark.parametrize("state", ["open", "sent"])
def test_zero_total_order_with_live_lines_can_be_closed(state: OrderState) -> None:
    found = check_action(order(state, total_minor=0), "close")
    assert (found.to, found.permission) == ("closed", "payment.take")


@pytest.mark.parametrize("state", ["open", "sent"])
def test_empty_zero_total_order_cannot_be_closed(state: OrderState) -> None:
    with pytest.raises(IllegalTransition, match="no lines to close"):
        check_action(order(state, lines=[], total_minor=0), "close")


@pytest.mark.parametrize("state", ["open", "sent"])
@pytest.mark.parametrize("paid_minor", [0, 100])
def test_order_that_still_owes_money_cannot_be_closed(state: OrderState, paid_minor: int) -> None:
    with pytest.raises(IllegalTransition, match="balance of") as caught:
        check_action(order(state, paid_minor=paid_minor), "close")
    assert caught.value.context["balance_minor"] == 350 - paid_minor


def test_reopened_order_left_unchanged_can_be_closed_again() -> None:
    # Reopening does not settle (the order would fall straight back to paid), so a manager who
    # reopens and changes nothing holds an open order that owes nothing.
    assert check_action(order("open", paid_minor=350), "close").to == "closed"


def test_paid_order_is_closed_whatever_its_content() -> None:
    assert check_action(order("paid", lines=[], paid_minor=350), "close").to == "closed"


def test_sent_order_with_nothing_new_cannot_be_sent_again() -> None:
    with pytest.raises(IllegalTransition, match="nothing new to send"):
        check_action(order("sent", [line(sent=True)]), "send")


def test_sent_order_with_a_new_line_can_be_sent_again() -> None:
    found = check_action(order("sent", [line("a", sent=True), line("b")]), "send")
    assert found.permission == "order.send"


def test_check_action_applies_the_void_after_payment_rule() -> None:
    assert check_action(order(paid_minor=100), "void").permission == "order.void_paid"


def test_check_action_refuses_what_the_table_refuses() -> None:
    with pytest.raises(IllegalTransition):
        check_action(order("voided"), "add_lines")


# --- properties -----------------------------------------------------------------------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(ACTIONS), st.integers(0, 5000)),
        st.tuples(st.just("settle"), st.integers(0, 5000)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_random_actions_never_leave_the_table(sequence: list[tuple[str, int]]) -> None:
    state: OrderState = "open"
    for action, amount in sequence:
        if action == "settle":
            # A third of the payments clear the balance.
            state = settle(state, 0 if amount % 3 == 0 else amount, 5000)
        elif (state, action) in TRANSITIONS:
            expected = TRANSITIONS[(state, action)].to  # type: ignore[index]
            after = transition(state, action, paid_minor=amount)  # type: ignore[arg-type]
            assert after == (state if expected is None else expected)
            state = after
        else:
            before = state
            with pytest.raises(IllegalTransition):
                transition(state, action, paid_minor=amount)  # type: ignore[arg-type]
            assert state == before
        assert state in STATES


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(STATES),
    st.sampled_from(ACTIONS),
    st.lists(st.tuples(st.booleans(), st.booleans()), max_size=4),
    st.integers(0, 350),
)
def test_check_action_never_changes_the_order(
    state: OrderState, action: Action, flags: list[tuple[bool, bool]], paid_minor: int
) -> None:
    lines = [line(f"l{i}", sent=sent, voided=voided) for i, (sent, voided) in enumerate(flags)]
    subject = order(state, lines, paid_minor)
    before = msgspec.json.encode(subject)
    try:
        found = check_action(subject, action)
    except IllegalTransition:
        pass
    else:
        assert (state, action) in TRANSITIONS
        assert found.to is None or found.to in STATES
    assert msgspec.json.encode(subject) == before


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["open", "sent"]),
    st.lists(st.tuples(st.booleans(), st.booleans()), max_size=4),
    st.integers(0, 700),
    st.integers(0, 700),
)
def test_an_unsettled_order_closes_only_with_live_lines_and_nothing_owed(
    state: OrderState, flags: list[tuple[bool, bool]], total_minor: int, paid_minor: int
) -> None:
    lines = [line(f"l{i}", sent=sent, voided=voided) for i, (sent, voided) in enumerate(flags)]
    subject = order(state, lines, min(paid_minor, total_minor), total_minor)
    allowed = bool(live_lines(lines)) and subject.totals.balance_minor == 0
    try:
        check_action(subject, "close")
    except IllegalTransition:
        assert not allowed
    else:
        assert allowed
