"""Cash drawer sessions: counting cash, the expected balance, opening and closing a session.

The cash a drawer should hold is never stored as a running number: it is the float plus the signed
sum of the session's append-only entries (sales and paid-ins add, refunds and paid-outs take away,
a no-sale moves nothing). Closing a session records the count and how far it is over or short.
"""

from __future__ import annotations

import msgspec

from edge.domain.errors import Conflict, IllegalTransition, InvalidInput
from edge.domain.tenders import check_amount
from shared.schemas.documents import DrawerEntry, DrawerEntryKind, DrawerSession

ENTRY_SIGN: dict[DrawerEntryKind, int] = {
    "sale": 1,
    "paid_in": 1,
    "refund": -1,
    "paid_out": -1,
    "no_sale": 0,
}


def count_cash(counts: dict[str, int], denominations_minor: list[int]) -> int:
    """Total of a cash count keyed by denomination in minor units as strings ("500": 3)."""
    known = {str(d): d for d in denominations_minor}
    total = 0
    for key, count in counts.items():
        if key not in known:
            raise InvalidInput(f"{key!r} is not a denomination of this store", denomination=key)
        # bool is an int subclass: refuse it with the floats and strings.
        if type(count) is not int or count < 0:
            raise InvalidInput(
                f"the count of {key} must be a whole number of at least 0", denomination=key
            )
        total += known[key] * count
    return check_amount(total, "counted cash", allow_zero=True)


def _session_entries(session: DrawerSession, entries: list[DrawerEntry]) -> list[DrawerEntry]:
    # Entries of other sessions are skipped so that callers may pass a whole day's entries.
    return [entry for entry in entries if entry.session_id == session.id]


def expected_cash(session: DrawerSession, entries: list[DrawerEntry]) -> int:
    """Cash the drawer should hold: the float plus the signed sum of the session's entries."""
    moved = sum(ENTRY_SIGN[e.kind] * e.amount_minor for e in _session_entries(session, entries))
    return session.float_minor + moved


def open_session(
    *,
    session_id: str,
    opened_by: str,
    opened_at_ms: int,
    float_minor: int,
    float_counts: dict[str, int] | None = None,
    denominations_minor: list[int] | None = None,
    drawer_id: str = "main",
    sessions: list[DrawerSession] | None = None,
) -> DrawerSession:
    """A new open session, refusing a bad float or a drawer that already has an open session.

    When ``float_counts`` is given it must add up to ``float_minor``: the count is the proof.
    """
    float_minor = check_amount(float_minor, "float_minor", allow_zero=True)
    counts = float_counts or {}
    if counts:
        counted = count_cash(counts, denominations_minor or [])
        if counted != float_minor:
            raise InvalidInput(
                f"the float counts add up to {counted}, not {float_minor}",
                counted_minor=counted,
                float_minor=float_minor,
            )
    for other in sessions or []:
        if other.drawer_id == drawer_id and other.state == "open":
            raise Conflict(f"drawer {drawer_id} already has an open session", session_id=other.id)
    return DrawerSession(
        id=session_id,
        drawer_id=drawer_id,
        opened_by=opened_by,
        opened_at_ms=opened_at_ms,
        float_minor=float_minor,
        float_counts=dict(counts),
    )


def check_entry(
    kind: DrawerEntryKind,
    amount_minor: int,
    reason: str | None,
    available_minor: int | None = None,
) -> None:
    """Refuse a drawer entry that breaks the rules for its kind.

    Paid in and paid out need a reason; a no-sale moves nothing; every other kind moves a positive
    amount. With ``available_minor`` (the expected cash), cash out beyond it is refused.
    """
    if kind not in ENTRY_SIGN:
        raise InvalidInput(f"{kind!r} is not a kind of drawer entry", kind=kind)
    if kind == "no_sale":
        if check_amount(amount_minor, "amount_minor", allow_zero=True) != 0:
            raise InvalidInput("a no-sale moves no cash: its amount must be 0", kind=kind)
        return
    amount = check_amount(amount_minor, "amount_minor")
    if kind in ("paid_in", "paid_out") and not (reason and reason.strip()):
        raise InvalidInput(f"a {kind.replace('_', ' ')} needs a reason", kind=kind)
    if ENTRY_SIGN[kind] < 0 and available_minor is not None and amount > available_minor:
        raise Conflict(
            f"the drawer should hold only {available_minor}, not enough for {amount}",
            amount_minor=amount,
            available_minor=available_minor,
        )


def close_session(
    session: DrawerSession,
    entries: list[DrawerEntry],
    counted_counts: dict[str, int],
    denominations_minor: list[int],
    closed_by: str,
    closed_at_ms: int,
) -> DrawerSession:
    """The session closed with its count, expected cash and over/short (counted - expected)."""
    if session.state != "open":
        raise IllegalTransition(
            f"drawer session {session.id} is {session.state} and cannot be closed",
            state=session.state,
            action="close",
        )
    counted = count_cash(counted_counts, denominations_minor)
    expected = expected_cash(session, entries)
    return msgspec.structs.replace(
        session,
        state="closed",
        closed_by=closed_by,
        closed_at_ms=closed_at_ms,
        counted_minor=counted,
        counted_counts=dict(counted_counts),
        expected_minor=expected,
        over_short_minor=counted - expected,
    )
