"""Request and response bodies of the drawer area."""

from __future__ import annotations

from typing import Annotated

import msgspec

from edge.app.auth.routes import Pin
from edge.app.bodies import LOWERCASE
from edge.domain.tenders import MAX_MINOR
from shared.schemas.documents import DrawerEntry, DrawerSession

# Tablets mint these (iOS spells UUIDs in uppercase); the body decoder stores them lowercased, so
# a retry in the other case still finds the first request's entity.
EntityId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description=(
            "a UUID minted by the tablet, so a retried request is not applied twice;"
            " either case, stored lowercase"
        ),
    ),
    LOWERCASE,
]
# Denominations are checked against the store's list by the domain; the bounds here only keep
# absurd bodies (huge counts, thousands of keys) out.
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Counts = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=12)], Count],
    msgspec.Meta(max_length=64, description='denomination in minor units -> count: {"1000": 5}'),
]
Amount = Annotated[int, msgspec.Meta(ge=1, le=MAX_MINOR)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OpenSessionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Open the till with a counted float."""

    counts: Counts
    id: EntityId | None = None


class CloseSessionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Close the till with the cash counted out."""

    counts: Counts


class CashMoveRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Cash put in or taken out without a sale; a cashier adds a manager's PIN."""

    amount_minor: Amount
    reason: Reason
    manager_pin: Pin | None = None
    id: EntityId | None = None


class NoSaleRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Open the drawer without a sale; a cashier adds a manager's PIN."""

    reason: Reason | None = None
    manager_pin: Pin | None = None
    id: EntityId | None = None


class SessionView(DrawerSession, kw_only=True):
    """A till session as the API shows it.

    ``expected_minor`` is live while the session is open, and left out (None) for roles that count
    blind (without drawer.report); ``entries`` is only filled when one session is asked for.
    """

    business_day: str
    entries: list[DrawerEntry] | None = None
