"""Quick sales without a Menu: one Croissant rung up, or sold for cash, through the orders API."""

from __future__ import annotations

from typing import Any

from tests.support.orders import ORDERS
from tests.support.server import Tablet


def croissant_order(tablet: Tablet) -> dict[str, Any]:
    """An open order for one Croissant (280, VAT 0%) through the orders API."""
    items = tablet.get("/api/v1/catalog/items", params={"q": "Croissant"})
    assert items.status_code == 200, items.text
    item = next(i for i in items.json() if i["name"] == "Croissant")
    order = tablet.post(ORDERS, json={"lines": [{"item_id": item["id"], "quantity": 1}]})
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    return body


def cash_sale(tablet: Tablet, tendered_minor: int = 500) -> dict[str, Any]:
    """Sell one Croissant for cash through the orders API; return the payment."""
    order = croissant_order(tablet)
    paid = tablet.post(
        f"{ORDERS}/{order['id']}/payments",
        json={"tender": "cash", "tendered_minor": tendered_minor},
    )
    assert paid.status_code == 201, paid.text
    body: dict[str, Any] = paid.json()["payment"]
    return body
