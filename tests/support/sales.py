"""Quick sales without a Menu: one Croissant rung up, or sold for cash, through the orders API."""

from __future__ import annotations

from typing import Any

from tests.support.answers import expect_json
from tests.support.orders import ORDERS
from tests.support.server import Tablet


def croissant_order(tablet: Tablet) -> dict[str, Any]:
    """An open order for one Croissant (280, VAT 0%) through the orders API."""
    items = expect_json(tablet.get("/api/v1/catalog/items", params={"q": "Croissant"}))
    item = next(i for i in items if i["name"] == "Croissant")
    lines = [{"item_id": item["id"], "quantity": 1}]
    return expect_json(tablet.post(ORDERS, json={"lines": lines}), 201)


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
