"""Layouts of the entities held in replicated documents.

Every entity is a ``Map`` entry keyed by its id inside a named root of a document (which roots a
kind of document holds, and how each is encoded: shared.schemas.layout):

* single-writer entities (orders, payments, refunds, drawer sessions and entries, audit) are stored
  as one compact msgpack value per entry (shared.schemas.compact);
* entities that two sides may edit (catalog, people) are stored as a nested ``Map`` of stamped
  cells, ``"{field}@{stamp}" -> {"v": value, "by": who}``, so the latest edit of each field wins
  on every replica (shared.schemas.stamped); settings are such cells straight in their root.

Values are read back through these structs, which restores types (pycrdt hands back floats).
Money is always integer minor units; rates are decimal strings (``"0.20"`` is 20 %).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# Partitioning keeps every document small; one above this is reported (DESIGN: under 5 MB each).
DOC_BUDGET_BYTES = 5 * 1024 * 1024

# --- document ids --------------------------------------------------------------------------------


def catalog_doc(org_id: str) -> str:
    return f"org/{org_id}/catalog"


def people_doc(org_id: str) -> str:
    return f"org/{org_id}/people"


def settings_doc(store_id: str) -> str:
    return f"store/{store_id}/settings"


def day_doc(store_id: str, business_day: str) -> str:
    return f"store/{store_id}/day/{business_day}"


def pins_doc(store_id: str) -> str:
    """A store's PIN verifiers and their key: only its appliance (and the relay) hold them."""
    return f"store/{store_id}/pins"


class Entity(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """Base for document entities: every entity has a UUIDv7 string id."""

    id: str


# --- catalog (org/{org}/catalog; per-field entries) ----------------------------------------------

TaxMode = Literal["exclusive", "inclusive"]
Rounding = Literal["half_up", "half_even", "down"]


class TaxRate(Entity, kw_only=True):
    name: str
    rate: str  # decimal fraction as a string: "0.20" is 20 %
    archived: bool = False


class Category(Entity, kw_only=True):
    name: str
    tax_rate_ids: list[str] = []
    sort: int = 0
    archived: bool = False


class Variant(msgspec.Struct, kw_only=True):
    id: str
    name: str
    price_minor: int  # replaces the item's base price when chosen


class ModifierOption(msgspec.Struct, kw_only=True):
    id: str
    name: str
    price_delta_minor: int = 0


class ModifierGroup(Entity, kw_only=True):
    name: str
    min_select: int = 0  # 0 = optional group; >= 1 = required
    max_select: int = 1
    options: list[ModifierOption] = []
    archived: bool = False


class Item(Entity, kw_only=True):
    name: str
    category_id: str
    price_minor: int
    variants: list[Variant] = []  # when non-empty, a variant must be chosen
    modifier_group_ids: list[str] = []
    tax_rate_ids: list[str] | None = None  # None: use the category's rates
    sku: str | None = None
    barcode: str | None = None
    archived: bool = False


class TimeWindow(msgspec.Struct, kw_only=True):
    """Local wall-clock window, e.g. happy hour Mon-Fri 16:00-18:00 (weekday 0 = Monday)."""

    weekdays: list[int] = msgspec.field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    start: str  # "HH:MM", local time of the store
    end: str  # "HH:MM"; end < start means the window crosses midnight


class Discount(Entity, kw_only=True):
    name: str
    kind: Literal["percent", "amount"]
    scope: Literal["order", "item"]
    percent: str | None = None  # decimal string, "10" is 10 %
    amount_minor: int | None = None
    # rules: an item-scope discount with a window applies itself to matching lines
    item_ids: list[str] = []
    category_ids: list[str] = []
    window: TimeWindow | None = None
    archived: bool = False


# --- people (org/{org}/people; per-field entries) -----------------------------------------------

Role = Literal["owner", "manager", "cashier", "server", "kitchen"]


class Employee(Entity, kw_only=True):
    name: str
    role: Role
    email: str | None = None
    # No longer written: PIN verifiers live in the documents of the stores where the employee
    # works (StorePin). Older people documents held them here, with the org's pepper; the relay
    # deletes them once every store has moved its own (cloud.relay.pins).
    pin_hash: str | None = None
    pin_tag: str | None = None
    password_hash: str | None = None  # Argon2, owners and managers only
    active: bool = True


# --- PINs (store/{store}/pins; written by that store's appliance only) ----------------------------
# A 4-6 digit PIN falls to brute force from any verifier: its verifiers and the key of its tag stay
# in the documents of the stores where the employee works, never in the org's people document.


class StorePin(Entity, kw_only=True):
    """An employee's PIN at one store (id: the employee's); an entry means they work there."""

    pin_hash: str  # Argon2
    # HMAC of the PIN with the store's key: finds the employee by PIN alone. None for a verifier
    # moved from an older people document (its tag used the org's pepper, which is gone): found
    # by Argon2 instead, and tagged at its first login.
    pin_tag: str | None = None


class PinKeys(msgspec.Struct, kw_only=True):
    """The flat values of a store's PIN document."""

    pin_key: str | None = None  # random, minted by the store's appliance


# --- store settings (store/{store}/settings; flat keys in one "settings" map) ---------------------


class StoreSettings(msgspec.Struct, kw_only=True):
    name: str = "Store"
    currency: str = "USD"
    timezone: str = "UTC"
    business_day_cutoff: str = "04:00"
    tax_mode: TaxMode = "exclusive"
    rounding: Rounding = "half_up"
    service_charge_percent: str | None = None  # default for new orders, e.g. "12.5"
    discount_approval_percent: str = "20"  # a discount above this needs a manager
    discount_approval_minor: int = 1000  # an amount discount above this needs a manager
    denominations_minor: list[int] = msgspec.field(
        default_factory=lambda: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
    )


# --- day documents (store/{store}/day/{YYYY-MM-DD}; one encoded value per entry) ------------------

# partially_refunded / refunded: money went back on a settled order (edge.domain.order).
OrderState = Literal["open", "sent", "paid", "closed", "voided", "partially_refunded", "refunded"]


class LineModifier(msgspec.Struct, kw_only=True):
    option_id: str
    group_id: str
    name: str
    price_delta_minor: int


class LineTax(msgspec.Struct, kw_only=True):
    rate_id: str
    name: str
    rate: str


class OrderLine(msgspec.Struct, kw_only=True):
    id: str
    item_id: str
    name: str
    variant_id: str | None = None
    unit_price_minor: int  # base or variant price + modifier deltas, per unit
    modifiers: list[LineModifier] = []
    quantity: int
    taxes: list[LineTax] = []
    note: str | None = None
    sent: bool = False
    voided: bool = False


class AppliedDiscount(msgspec.Struct, kw_only=True):
    id: str
    discount_id: str | None = None  # None for an ad-hoc discount
    name: str
    kind: Literal["percent", "amount"]
    percent: str | None = None
    amount_minor: int | None = None
    line_id: str | None = None  # None: applies to the whole order
    approved_by: str | None = None
    automatic: bool = False  # applied by a time-window rule


class OrderTotals(msgspec.Struct, kw_only=True):
    subtotal_minor: int = 0  # sum of line gross amounts before discounts (as priced)
    discount_minor: int = 0
    service_minor: int = 0
    tax_minor: int = 0
    total_minor: int = 0  # what the customer owes, tips excluded
    paid_minor: int = 0  # tender applied to the total, net of refunds
    tip_minor: int = 0
    balance_minor: int = 0  # total - paid - refunded: what is still owed
    refunded_minor: int = 0  # given back to the customer (appended: positions are the format)


class Order(Entity, kw_only=True):
    number: int
    business_day: str
    state: OrderState = "open"
    lines: list[OrderLine] = []
    discounts: list[AppliedDiscount] = []
    service_charge_percent: str | None = None
    tax_mode: TaxMode = "exclusive"
    rounding: Rounding = "half_up"
    currency: str = "USD"
    totals: OrderTotals = msgspec.field(default_factory=OrderTotals)
    table: str | None = None
    note: str | None = None
    device_id: str
    opened_by: str
    opened_at_ms: int
    updated_at_ms: int
    closed_at_ms: int | None = None
    void_reason: str | None = None


Tender = Literal["cash", "card", "external"]


class Payment(Entity, kw_only=True):
    """Append-only: a tender applied to an order. Refunds are separate entries."""

    order_id: str
    tender: Tender
    amount_minor: int  # applied to the order total
    tip_minor: int = 0
    tendered_minor: int  # handed over (cash) or charged (card): amount + tip + change
    change_minor: int = 0
    drawer_session_id: str | None = None
    reference: str | None = None  # external terminal approval code, etc.
    taken_by: str
    device_id: str
    taken_at_ms: int


class Refund(Entity, kw_only=True):
    order_id: str
    payment_id: str | None = None
    tender: Tender
    amount_minor: int  # positive: money given back to the customer
    reason: str
    drawer_session_id: str | None = None
    approved_by: str | None = None
    taken_by: str
    device_id: str
    taken_at_ms: int


class DrawerSession(Entity, kw_only=True):
    drawer_id: str = "main"
    state: Literal["open", "closed"] = "open"
    opened_by: str
    opened_at_ms: int
    float_minor: int
    float_counts: dict[str, int] = {}  # denomination (minor, as a string key) -> count
    closed_by: str | None = None
    closed_at_ms: int | None = None
    counted_minor: int | None = None
    counted_counts: dict[str, int] = {}
    expected_minor: int | None = None
    over_short_minor: int | None = None  # counted - expected: negative is short


DrawerEntryKind = Literal["sale", "refund", "paid_in", "paid_out", "no_sale"]


class DrawerEntry(Entity, kw_only=True):
    """Append-only cash movement of a till session: positive amounts, the kind gives the sign."""

    session_id: str
    kind: DrawerEntryKind
    amount_minor: int = 0
    reason: str | None = None
    reference: str | None = None  # payment or refund id
    by: str
    approved_by: str | None = None
    at_ms: int


class DaySeal(msgspec.Struct, kw_only=True):
    """The Z report: written once; the day accepts no more sales afterwards."""

    business_day: str
    sealed_by: str
    sealed_at_ms: int
    report: dict[str, Any]


class AuditEntry(Entity, kw_only=True):
    at_ms: int
    actor_id: str | None
    device_id: str | None
    action: str
    entity_type: str
    entity_id: str | None = None
    approved_by: str | None = None
    detail: dict[str, Any] = {}
