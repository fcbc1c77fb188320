"""The demo café that ``fynlo-edge init --demo`` creates: a UK coffee shop with staff logins.

Other parts of the project (tests, benchmarks, ``make run``) rely on the names, prices and PINs
below; change them only together with the brief that describes them.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from edge.app.audit import audit
from edge.app.auth.pins import verifier, write_pin
from edge.app.bootstrap import active_owners, base_setup, setup_store_only
from edge.app.context import Edge
from edge.app.employees.records import new_employee
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import (
    Category,
    Discount,
    Item,
    ModifierGroup,
    ModifierOption,
    Role,
    StoreSettings,
    TaxRate,
    TimeWindow,
    Variant,
    catalog_doc,
    people_doc,
)

SETTINGS = StoreSettings(
    name="Fynlo Demo Café",
    currency="GBP",
    timezone="Europe/London",
    business_day_cutoff="04:00",
    tax_mode="inclusive",
    rounding="half_up",
)

# name -> rate
TAX_RATES = {"VAT 20%": "0.20", "VAT 0%": "0"}

# name -> tax rate of its items (UK: cold take-away bakery is zero-rated)
CATEGORIES = {
    "Coffee": "VAT 20%",
    "Tea": "VAT 20%",
    "Cold drinks": "VAT 20%",
    "Bakery": "VAT 0%",
    "Breakfast": "VAT 20%",
    "Lunch": "VAT 20%",
}

# name -> (min_select, max_select, [(option, price delta)])
MODIFIER_GROUPS: dict[str, tuple[int, int, list[tuple[str, int]]]] = {
    "Size": (1, 1, [("Regular", 0), ("Large", 50)]),
    "Milk": (0, 1, [("Whole", 0), ("Oat", 40), ("Soy", 40)]),
    "Extra shot": (0, 2, [("Extra shot", 60), ("Decaf", 0)]),
}

S, M, X = "Size", "Milk", "Extra shot"


class Row(NamedTuple):
    """One menu line: items take their category's tax rate unless ``tax`` names another."""

    category: str
    name: str
    price_minor: int
    groups: tuple[str, ...] = ()
    variants: tuple[tuple[str, int], ...] = ()
    tax: str | None = None
    barcode: str | None = None


MENU: list[Row] = [
    Row("Coffee", "Espresso", 220, (X,)),
    Row("Coffee", "Double espresso", 280, (X,)),
    Row("Coffee", "Americano", 300, (S, X)),
    Row("Coffee", "Latte", 340, (S, M, X)),
    Row("Coffee", "Flat white", 360, (S, M, X)),
    Row("Coffee", "Cappuccino", 340, (S, M, X)),
    Row("Coffee", "Mocha", 380, (S, M, X)),
    Row("Coffee", "Cortado", 300, (M, X)),
    Row("Tea", "English breakfast tea", 250, (M,)),
    Row("Tea", "Earl grey", 250, (M,)),
    Row("Tea", "Green tea", 250),
    Row("Tea", "Peppermint tea", 250),
    Row("Tea", "Chai latte", 350, (S, M)),
    Row("Tea", "Hot chocolate", 350, (S, M)),
    Row("Cold drinks", "Orange juice", 300, variants=(("Small", 300), ("Large", 420))),
    Row("Cold drinks", "Apple juice", 300),
    Row("Cold drinks", "Sparkling water", 180, barcode="5000000000017"),
    Row("Cold drinks", "Still water", 150, barcode="5000000000024"),
    Row("Cold drinks", "Cola", 220, barcode="5000000000031"),
    Row("Cold drinks", "Iced latte", 380, (M, X)),
    Row("Cold drinks", "Lemonade", 280),
    Row("Bakery", "Croissant", 280, tax="VAT 0%"),
    Row("Bakery", "Pain au chocolat", 300),
    Row("Bakery", "Almond croissant", 340),
    Row("Bakery", "Blueberry muffin", 290),
    Row("Bakery", "Cinnamon bun", 320),
    Row("Bakery", "Banana bread", 300),
    Row("Bakery", "Brownie", 280),
    Row("Breakfast", "Bacon roll", 450),
    Row("Breakfast", "Sausage bap", 450),
    Row("Breakfast", "Egg and cheese muffin", 420),
    Row("Breakfast", "Porridge", 380),
    Row("Breakfast", "Avocado toast", 650),
    Row("Breakfast", "Full breakfast", 950),
    Row("Breakfast", "Granola bowl", 480),
    Row("Lunch", "Ham and cheese toastie", 550),
    Row("Lunch", "Cheese and tomato toastie", 500),
    Row("Lunch", "Soup of the day", 480),
    Row("Lunch", "Chicken Caesar wrap", 620),
    Row("Lunch", "Falafel wrap", 590),
    Row("Lunch", "Club sandwich", 680),
    Row("Lunch", "Jacket potato", 550),
]

# (name, role, PIN, email, password)
STAFF: list[tuple[str, Role, str, str | None, str | None]] = [
    ("Owner", "owner", "1111", "owner@demo.fynlo.test", "demo-owner-pass"),
    ("Manager", "manager", "2222", "manager@demo.fynlo.test", "demo-manager-pass"),
    ("Cashier", "cashier", "3333", None, None),
    ("Server", "server", "4444", None, None),
    ("Kitchen", "kitchen", "5555", None, None),
]


def seed_demo(edge: Edge) -> list[str]:
    """Write the demo café (settings, menu, discounts, staff); return printable logins.

    A store joining an org whose menu and staff came from the relay gets its settings, and the
    demo staff get their demo PINs at this store too (a PIN belongs to a store: the demo's are
    public, so every demo store of the org takes the same).
    """
    if has_menu(edge):
        found = edge.store.writer.call(lambda tx: _join(tx, edge))
        return ["the org's demo staff and menu came from the relay:", *_logins(found)]
    adopted = edge.store.writer.call(lambda tx: _seed(tx, edge))
    if adopted is None:
        return _logins()
    # The org's owner came from the relay (only the relay makes owners): the demo owner PIN is
    # theirs here, and their password is the relay's, not the demo's.
    return [login_line(adopted, "owner", STAFF[0][2], None, None), *_logins(_NOT_OWNER)]


def has_menu(edge: Edge) -> bool:
    """Whether the org's catalog holds items already (another demo store of the org made it)."""
    return edge.store.read.execute("SELECT 1 FROM items LIMIT 1").fetchone() is not None


_NOT_OWNER = {name for name, role, *_ in STAFF if role != "owner"}


def _logins(only: set[str] | None = None) -> list[str]:
    return [
        login_line(name, role, pin, email, password)
        for name, role, pin, email, password in STAFF
        if only is None or name in only
    ]


def _join(tx: WriteTx, edge: Edge) -> set[str]:
    """Settings, and the demo PINs here for the org's demo staff; the names of those found."""
    key = setup_store_only(tx, edge, SETTINGS)
    found = set()
    for name, role, pin, _, _ in STAFF:
        row = tx.conn.execute(
            "SELECT id FROM employees WHERE name = ? AND role = ? AND active = 1 ORDER BY id",
            (name, role),
        ).fetchone()
        if row is not None:
            write_pin(tx, edge.store_id, verifier(key, row[0], pin))
            found.add(name)
    return found


def login_line(name: str, role: str, pin: str, email: str | None, password: str | None) -> str:
    """One printable login, e.g. ``owner    PIN 1111   owner@demo.fynlo.test / demo-owner-pass``."""
    line = f"{role:<8} PIN {pin}"
    if email and password:
        line += f"   {email} / {password}"
    return line


def _seed(tx: WriteTx, edge: Edge) -> str | None:
    """The demo café; the name of the org's owner it adopted (None: it made the demo's own)."""
    key = base_setup(tx, edge, SETTINGS)
    catalog = catalog_doc(edge.org_id)
    for entity, coll in _catalog():
        tx.put(catalog, coll, entity)
    owners = active_owners(tx.conn)
    for name, role, pin, email, password in STAFF:
        if role == "owner" and owners:
            write_pin(tx, edge.store_id, verifier(key, owners[0].id, pin))
            continue
        employee, pin_here = new_employee(
            uuid7(), key, name=name, role=role, pin=pin, email=email, password=password
        )
        tx.put(people_doc(edge.org_id), "employees", employee)
        if pin_here is not None:
            write_pin(tx, edge.store_id, pin_here)
    # The settings just written are not projected yet: name the day from SETTINGS itself.
    day = edge.open_day(tx.conn, tx.at_ms, SETTINGS)
    audit(
        tx,
        edge,
        None,
        "store.init",
        "store",
        edge.store_id,
        day=day,
        detail={"demo": True, "items": len(MENU)},
    )
    return owners[0].name if owners else None


def _catalog() -> list[tuple[msgspec.Struct, str]]:
    """Every catalog entity of the demo café with the collection it belongs to."""
    taxes = {name: TaxRate(id=uuid7(), name=name, rate=rate) for name, rate in TAX_RATES.items()}
    categories = {
        name: Category(id=uuid7(), name=name, tax_rate_ids=[taxes[tax].id], sort=index)
        for index, (name, tax) in enumerate(CATEGORIES.items())
    }
    groups = {
        name: ModifierGroup(
            id=uuid7(),
            name=name,
            min_select=low,
            max_select=high,
            options=[ModifierOption(id=uuid7(), name=o, price_delta_minor=p) for o, p in options],
        )
        for name, (low, high, options) in MODIFIER_GROUPS.items()
    }
    items = [_item(row, categories, groups, taxes) for row in MENU]
    found: list[tuple[msgspec.Struct, str]] = [(t, "tax_rates") for t in taxes.values()]
    found += [(c, "categories") for c in categories.values()]
    found += [(g, "modifier_groups") for g in groups.values()]
    found += [(i, "items") for i in items]
    found += [(d, "discounts") for d in _discounts(categories["Cold drinks"].id)]
    return found


def _item(
    row: Row,
    categories: dict[str, Category],
    groups: dict[str, ModifierGroup],
    taxes: dict[str, TaxRate],
) -> Item:
    return Item(
        id=uuid7(),
        name=row.name,
        category_id=categories[row.category].id,
        price_minor=row.price_minor,
        variants=[Variant(id=uuid7(), name=name, price_minor=p) for name, p in row.variants],
        modifier_group_ids=[groups[g].id for g in row.groups],
        tax_rate_ids=[taxes[row.tax].id] if row.tax else None,
        sku=f"{row.category[:3].upper()}-{row.name.upper().replace(' ', '')[:12]}",
        barcode=row.barcode,
    )


def _discounts(cold_drinks_id: str) -> list[Discount]:
    weekdays = TimeWindow(weekdays=[0, 1, 2, 3, 4], start="15:00", end="17:00")
    return [
        Discount(
            id=uuid7(),
            name="Happy hour",
            kind="percent",
            scope="item",
            percent="20",
            category_ids=[cold_drinks_id],
            window=weekdays,
        ),
        # 50 % is above the store's approval threshold (20 %): a manager must approve it.
        Discount(id=uuid7(), name="Staff meal", kind="percent", scope="order", percent="50"),
        Discount(id=uuid7(), name="£1 off", kind="amount", scope="order", amount_minor=100),
    ]
