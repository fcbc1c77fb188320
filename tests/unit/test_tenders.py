from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.errors import Conflict, InvalidInput, NotFound
from edge.domain.tenders import (
    MAX_MINOR,
    TenderResult,
    check_amount,
    check_refund,
    refundable,
    take_card,
    take_cash,
    take_external,
)
from shared.schemas.documents import Payment, Refund


def payment(payment_id: str = "p1", amount_minor: int = 1000, tip_minor: int = 0) -> Payment:
    return Payment(
        id=payment_id,
        order_id="o1",
        tender="card",
        amount_minor=amount_minor,
        tip_minor=tip_minor,
        tendered_minor=amount_minor + tip_minor,
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


def refund(amount_minor: int, payment_id: str | None = "p1") -> Refund:
    return Refund(
        id=f"r-{amount_minor}",
        order_id="o1",
        payment_id=payment_id,
        tender="card",
        amount_minor=amount_minor,
        reason="cold",
        taken_by="e1",
        device_id="d1",
        taken_at_ms=0,
    )


# --- check_amount ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "100", None])
def test_check_amount_refuses_anything_but_an_int(value: object) -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        check_amount(value, "amount_minor", allow_zero=True)


def test_check_amount_refuses_negative_amounts() -> None:
    with pytest.raises(InvalidInput, match="at least 0"):
        check_amount(-1, "amount_minor", allow_zero=True)


def test_check_amount_refuses_zero_unless_allowed() -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        check_amount(0, "amount_minor")
    assert check_amount(0, "amount_minor", allow_zero=True) == 0


def test_check_amount_refuses_absurdly_large_amounts() -> None:
    assert check_amount(MAX_MINOR, "amount_minor") == MAX_MINOR
    with pytest.raises(InvalidInput, match="at most"):
        check_amount(MAX_MINOR + 1, "amount_minor")


def test_check_amount_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_amount(-5, "tip_minor")
    assert caught.value.context["field"] == "tip_minor"


# --- cash -----------------------------------------------------------------------------------------


def test_exact_cash_pays_the_balance_with_no_change() -> None:
    assert take_cash(1250, 1250) == TenderResult(
        amount_minor=1250, tip_minor=0, tendered_minor=1250, change_minor=0
    )


def test_cash_over_the_balance_gives_change() -> None:
    result = take_cash(1250, 2000)
    assert (result.amount_minor, result.change_minor) == (1250, 750)


def test_cash_under_the_balance_is_a_partial_payment() -> None:
    result = take_cash(1250, 1000)
    assert (result.amount_minor, result.change_minor) == (1000, 0)


def test_cash_tip_comes_out_before_the_balance() -> None:
    result = take_cash(1250, 2000, tip_minor=250)
    assert (result.amount_minor, result.tip_minor, result.change_minor) == (1250, 250, 500)


def test_cash_short_of_balance_and_tip_keeps_the_tip_and_pays_part() -> None:
    result = take_cash(1250, 1000, tip_minor=200)
    assert (result.amount_minor, result.tip_minor, result.change_minor) == (800, 200, 0)


def test_cash_less_than_the_tip_is_refused() -> None:
    with pytest.raises(InvalidInput, match="more than the tip"):
        take_cash(1250, 100, tip_minor=200)


def test_cash_that_only_covers_the_tip_is_refused() -> None:
    with pytest.raises(InvalidInput):
        take_cash(1250, 200, tip_minor=200)


def test_cash_on_a_paid_order_is_refused() -> None:
    with pytest.raises(Conflict, match="nothing left to pay"):
        take_cash(0, 500)


def test_cash_refuses_a_negative_tip() -> None:
    with pytest.raises(InvalidInput):
        take_cash(1000, 1000, tip_minor=-1)


# --- card and external ----------------------------------------------------------------------------


@pytest.mark.parametrize("take", [take_card, take_external])
def test_card_or_external_charge_applies_exactly_with_no_change(take: object) -> None:
    result = take(1250, 1250, tip_minor=200)  # type: ignore[operator]
    assert result == TenderResult(
        amount_minor=1250, tip_minor=200, tendered_minor=1450, change_minor=0
    )


@pytest.mark.parametrize("take", [take_card, take_external])
def test_card_or_external_can_pay_part_of_the_balance(take: object) -> None:
    assert take(1250, 500).amount_minor == 500  # type: ignore[operator]


@pytest.mark.parametrize("take", [take_card, take_external])
def test_overpaying_by_card_or_external_is_refused(take: object) -> None:
    with pytest.raises(Conflict, match="more than the balance"):
        take(1250, 1251)  # type: ignore[operator]


@pytest.mark.parametrize("take", [take_card, take_external])
def test_card_or_external_refuses_a_zero_amount(take: object) -> None:
    with pytest.raises(InvalidInput):
        take(1250, 0)  # type: ignore[operator]


@pytest.mark.parametrize("take", [take_card, take_external])
def test_card_or_external_on_a_paid_order_is_refused(take: object) -> None:
    with pytest.raises(Conflict):
        take(0, 100)  # type: ignore[operator]


def test_card_refuses_a_float_amount() -> None:
    with pytest.raises(InvalidInput):
        take_card(1250, 12.5)  # type: ignore[arg-type]


# --- refunds --------------------------------------------------------------------------------------


def test_a_payment_is_refundable_up_to_its_applied_amount() -> None:
    assert refundable([payment(tip_minor=150)], [], "p1") == 1000


def test_earlier_refunds_reduce_what_is_refundable() -> None:
    assert refundable([payment()], [refund(300), refund(200)], "p1") == 500


def test_refunds_of_other_payments_do_not_count() -> None:
    payments = [payment("p1"), payment("p2")]
    assert refundable(payments, [refund(700, "p2"), refund(50, None)], "p1") == 1000


def test_refundable_of_an_unknown_payment_is_not_found() -> None:
    with pytest.raises(NotFound):
        refundable([payment()], [], "p9")


def test_refundable_is_never_negative() -> None:
    assert refundable([payment()], [refund(800), refund(700)], "p1") == 0


def test_check_refund_accepts_up_to_the_refundable_amount() -> None:
    assert check_refund(500, 500) == 500


def test_refunding_more_than_refundable_is_refused() -> None:
    with pytest.raises(Conflict, match="still refundable"):
        check_refund(501, 500)


def test_refund_of_nothing_is_refused() -> None:
    with pytest.raises(InvalidInput):
        check_refund(0, 500)


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**7), st.integers(0, 10**6))
def test_cash_change_is_never_negative_and_the_parts_add_up(
    balance: int, tendered: int, tip: int
) -> None:
    try:
        result = take_cash(balance, tendered, tip)
    except InvalidInput:
        assert tendered <= tip
        return
    assert result.change_minor >= 0
    assert 0 < result.amount_minor <= balance
    assert result.amount_minor + result.tip_minor + result.change_minor == tendered
    # change is only ever given once the balance is cleared
    assert result.change_minor == 0 or result.amount_minor == balance


tender_attempts = st.lists(
    st.tuples(
        st.sampled_from(["cash", "card", "external"]), st.integers(1, 5000), st.integers(0, 300)
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20000), tender_attempts)
def test_partial_tenders_never_pay_more_than_the_balance_and_sum_exactly(
    total: int, attempts: list[tuple[str, int, int]]
) -> None:
    balance = total
    applied: list[int] = []
    for kind, amount, tip in attempts:
        try:
            if kind == "cash":
                result = take_cash(balance, amount + tip, tip)
            elif kind == "card":
                result = take_card(balance, amount, tip)
            else:
                result = take_external(balance, amount, tip)
        except Conflict:
            # refused: the order is already paid, or a card asked for more than is owed
            assert balance == 0 or (kind != "cash" and amount > balance)
            continue
        assert 0 < result.amount_minor <= balance
        balance -= result.amount_minor
        applied.append(result.amount_minor)
    assert balance >= 0
    assert sum(applied) == total - balance
