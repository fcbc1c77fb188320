"""Request and response bodies of the orders area.

Bounds here keep absurd bodies out before any rule runs; the business rules themselves (a required
Size, a card above the balance, ...) are the domain's and answer with their own problems.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from edge.app.auth.routes import Pin
from edge.app.drawer.schemas import EntityId
from edge.domain.pricing import MAX_QUANTITY
from edge.domain.tenders import MAX_MINOR
from shared.schemas.documents import Order, Payment, Refund, Tender

# Ids of catalog entities (items, options, discounts) are looked up, never stored as new keys, so
# only their length is bounded here: an unknown id is a 422 from the lookup.
RefId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
Amount = Annotated[int, msgspec.Meta(ge=1, le=MAX_MINOR)]
Tip = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
Note = Annotated[str, msgspec.Meta(max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Table = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Percent = Annotated[
    str,
    msgspec.Meta(pattern=r"^[0-9]{1,3}(\.[0-9]{1,4})?$", description='a decimal string: "12.5"'),
]
MAX_LINES = 100


class LineInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One item to ring up, with its variant and modifier options."""

    item_id: RefId
    quantity: Quantity
    variant_id: RefId | None = None
    option_ids: Annotated[list[RefId], msgspec.Meta(max_length=20)] = []
    note: Note | None = None
    id: EntityId | None = None


Lines = Annotated[list[LineInput], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


MAX_TENDERS = 8


class OrderCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Open an order; a retried create with the same ``id`` returns the stored order."""

    lines: Annotated[list[LineInput], msgspec.Meta(max_length=MAX_LINES)] = []
    id: EntityId | None = None
    table: Table | None = None
    note: Note | None = None
    service_charge_percent: Percent | None = None
    # Quick service: tenders taken in the same step; all or nothing with the order.
    payments: Annotated[list[PaymentCreate], msgspec.Meta(max_length=MAX_TENDERS)] = []


class LinesAdd(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Add lines to an open or sent order."""

    lines: Lines


class LineVoid(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Void one line; a line already sent to the kitchen needs order.void (or a manager's PIN)."""

    reason: Reason | None = None
    manager_pin: Pin | None = None


class DiscountApply(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A catalog discount (``discount_id``) or an ad-hoc one (``name``, ``kind`` and a value)."""

    discount_id: RefId | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    kind: Literal["percent", "amount"] | None = None
    percent: Percent | None = None
    amount_minor: Amount | None = None
    line_id: RefId | None = None
    manager_pin: Pin | None = None
    id: EntityId | None = None


class OrderPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Change the service charge, table or note; a field sent as null is cleared."""

    service_charge_percent: Percent | msgspec.UnsetType | None = msgspec.UNSET
    table: Table | msgspec.UnsetType | None = msgspec.UNSET
    note: Note | msgspec.UnsetType | None = msgspec.UNSET


class PaymentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Take a tender: cash sends ``tendered_minor``, card and external send ``amount_minor``."""

    tender: Tender
    id: EntityId | None = None
    tendered_minor: Amount | None = None
    amount_minor: Amount | None = None
    tip_minor: Tip = 0
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None


class OrderVoid(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Void a whole order, with the reason the audit keeps."""

    reason: Reason
    manager_pin: Pin | None = None


class Approval(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A body that only carries an optional manager override."""

    manager_pin: Pin | None = None


class RefundCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Give money back, against one payment or the order as a whole."""

    tender: Tender
    amount_minor: Amount
    reason: Reason
    payment_id: RefId | None = None
    manager_pin: Pin | None = None
    id: EntityId | None = None


class OrderDetail(Order, kw_only=True):
    """An order with the payments and refunds recorded against it."""

    payments: list[Payment] = msgspec.field(default_factory=list)
    refunds: list[Refund] = msgspec.field(default_factory=list)


class PaymentResult(msgspec.Struct, kw_only=True):
    """A payment, the order it settled (or partly paid) and the change to hand back."""

    payment: Payment
    order: Order
    change_minor: int


class RefundResult(msgspec.Struct, kw_only=True):
    """A refund and the order after it."""

    refund: Refund
    order: Order
