from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.drawer import (
    ENTRY_SIGN,
    check_entry,
    close_session,
    count_cash,
    expected_cash,
    open_session,
)
from edge.domain.errors import Conflict, IllegalTransition, InvalidInput
from shared.schemas.documents import DrawerEntry, DrawerEntryKind, DrawerSession

DENOMS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]


def session(float_minor: int = 10000, session_id: str = "s1", **fields: object) -> DrawerSession:
    return DrawerSession(
        id=session_id, opened_by="e1", opened_at_ms=1000, float_minor=float_minor, **fields
    )


def entry(kind: DrawerEntryKind, amount_minor: int = 0, session_id: str = "s1") -> DrawerEntry:
    return DrawerEntry(
        id=f"{kind}-{amount_minor}",
        session_id=session_id,
        kind=kind,
        amount_minor=amount_minor,
        by="e1",
        at_ms=2000,
    )


# --- counting -------------------------------------------------------------------------------------


def test_count_cash_adds_up_denominations() -> None:
    assert count_cash({"2000": 2, "500": 3, "1": 4}, DENOMS) == 5504


def test_count_of_nothing_is_zero() -> None:
    assert count_cash({}, DENOMS) == 0


def test_count_refuses_an_unknown_denomination() -> None:
    with pytest.raises(InvalidInput, match="'300' is not a denomination"):
        count_cash({"300": 1}, DENOMS)


@pytest.mark.parametrize("key", ["05", "5.0", " 5", "five"])
def test_count_refuses_a_denomination_key_in_another_spelling(key: str) -> None:
    with pytest.raises(InvalidInput):
        count_cash({key: 1}, DENOMS)


@pytest.mark.parametrize("count", [-1, True, 1.5, "2"])
def test_count_refuses_a_count_that_is_not_a_whole_number_of_at_least_zero(count: object) -> None:
    with pytest.raises(InvalidInput):
        count_cash({"500": count}, DENOMS)  # type: ignore[dict-item]


# --- expected cash --------------------------------------------------------------------------------


def test_expected_cash_is_float_plus_sales_and_paid_in_less_refunds_and_paid_out() -> None:
    entries = [
        entry("sale", 1250),
        entry("sale", 800),
        entry("paid_in", 500),
        entry("refund", 300),
        entry("paid_out", 1000),
        entry("no_sale"),
    ]
    assert expected_cash(session(10000), entries) == 10000 + 1250 + 800 + 500 - 300 - 1000


def test_expected_cash_ignores_other_sessions_entries() -> None:
    assert expected_cash(session(10000), [entry("sale", 500, session_id="s2")]) == 10000


# --- opening --------------------------------------------------------------------------------------


def test_open_session_records_the_float() -> None:
    opened = open_session(
        session_id="s1",
        opened_by="e1",
        opened_at_ms=1000,
        float_minor=15000,
        float_counts={"5000": 2, "1000": 5},
        denominations_minor=DENOMS,
    )
    assert (opened.state, opened.float_minor, opened.float_counts) == (
        "open",
        15000,
        {"5000": 2, "1000": 5},
    )


def test_open_session_without_counts_takes_the_keyed_float() -> None:
    opened = open_session(session_id="s1", opened_by="e1", opened_at_ms=1, float_minor=0)
    assert opened.float_minor == 0


def test_open_session_refuses_counts_that_disagree_with_the_float() -> None:
    with pytest.raises(InvalidInput, match="add up to 10000, not 15000"):
        open_session(
            session_id="s1",
            opened_by="e1",
            opened_at_ms=1,
            float_minor=15000,
            float_counts={"5000": 2},
            denominations_minor=DENOMS,
        )


@pytest.mark.parametrize("float_minor", [-1, 100.0, True])
def test_open_session_refuses_a_bad_float(float_minor: object) -> None:
    with pytest.raises(InvalidInput):
        open_session(session_id="s1", opened_by="e1", opened_at_ms=1, float_minor=float_minor)  # type: ignore[arg-type]


def test_a_drawer_with_an_open_session_cannot_be_opened_again() -> None:
    with pytest.raises(Conflict, match="already has an open session"):
        open_session(
            session_id="s2", opened_by="e1", opened_at_ms=1, float_minor=0, sessions=[session()]
        )


def test_a_drawer_opens_again_after_its_session_closed() -> None:
    closed = session(state="closed")
    opened = open_session(
        session_id="s2", opened_by="e1", opened_at_ms=1, float_minor=0, sessions=[closed]
    )
    assert opened.id == "s2"


def test_another_drawer_may_open_beside_an_open_one() -> None:
    opened = open_session(
        session_id="s2",
        opened_by="e1",
        opened_at_ms=1,
        float_minor=0,
        drawer_id="bar",
        sessions=[session()],
    )
    assert opened.drawer_id == "bar"


# --- entries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["paid_in", "paid_out"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_paid_in_or_out_needs_a_reason(kind: DrawerEntryKind, reason: str | None) -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        check_entry(kind, 500, reason)


@pytest.mark.parametrize("kind", ["sale", "refund", "paid_in", "paid_out"])
def test_a_cash_movement_needs_a_positive_amount(kind: DrawerEntryKind) -> None:
    with pytest.raises(InvalidInput):
        check_entry(kind, 0, "float top-up")


def test_a_no_sale_moves_no_cash() -> None:
    check_entry("no_sale", 0, None)
    with pytest.raises(InvalidInput, match="no-sale moves no cash"):
        check_entry("no_sale", 100, "change for the bar")


def test_paid_out_beyond_the_cash_in_the_drawer_is_refused() -> None:
    check_entry("paid_out", 500, "window cleaner", available_minor=500)
    with pytest.raises(Conflict, match="only 499"):
        check_entry("paid_out", 500, "window cleaner", available_minor=499)


def test_paid_in_is_not_limited_by_the_cash_in_the_drawer() -> None:
    check_entry("paid_in", 500, "float top-up", available_minor=0)


def test_an_unknown_entry_kind_is_refused() -> None:
    with pytest.raises(InvalidInput):
        check_entry("tip_out", 100, "x")  # type: ignore[arg-type]


# --- closing --------------------------------------------------------------------------------------


def test_close_session_records_count_expected_and_over_short() -> None:
    opened = session(10000)
    closed = close_session(
        opened, [entry("sale", 1250)], {"10000": 1, "1000": 1}, DENOMS, "e2", 9000
    )
    assert closed.state == "closed"
    assert (closed.closed_by, closed.closed_at_ms) == ("e2", 9000)
    assert (closed.counted_minor, closed.expected_minor, closed.over_short_minor) == (
        11000,
        11250,
        -250,
    )
    assert closed.counted_counts == {"10000": 1, "1000": 1}


def test_close_session_reports_cash_over_as_positive() -> None:
    closed = close_session(session(1000), [], {"1000": 1, "5": 1}, DENOMS, "e2", 9000)
    assert closed.over_short_minor == 5


def test_close_session_leaves_the_open_session_untouched() -> None:
    opened = session(10000)
    before = msgspec.json.encode(opened)
    close_session(opened, [], {"10000": 1}, DENOMS, "e2", 9000)
    assert msgspec.json.encode(opened) == before


def test_closing_a_closed_session_is_refused() -> None:
    closed = close_session(session(0), [], {}, DENOMS, "e2", 9000)
    with pytest.raises(IllegalTransition, match="is closed"):
        close_session(closed, [], {}, DENOMS, "e2", 9500)


# --- properties -----------------------------------------------------------------------------------

entry_strategy = st.tuples(
    st.sampled_from(sorted(ENTRY_SIGN)), st.integers(1, 100_000), st.sampled_from(["s1", "s2"])
)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.lists(entry_strategy, max_size=50))
def test_expected_cash_is_float_plus_the_signed_sum_of_the_sessions_entries(
    float_minor: int, raw: list[tuple[DrawerEntryKind, int, str]]
) -> None:
    entries = [entry(kind, 0 if kind == "no_sale" else amount, sid) for kind, amount, sid in raw]
    signed = 0
    for kind, amount, sid in raw:
        if sid == "s1" and kind in ("sale", "paid_in"):
            signed += amount
        elif sid == "s1" and kind in ("refund", "paid_out"):
            signed -= amount
    assert expected_cash(session(float_minor), entries) == float_minor + signed
