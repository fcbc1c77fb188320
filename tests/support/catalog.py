"""The demo café's catalog as a tablet reads it, with items, options and discounts found by name."""

from __future__ import annotations

from typing import Any

from tests.support.answers import expect_json
from tests.support.server import Tablet


class Menu:
    """The demo café's catalog as a tablet sees it, looked up by name."""

    def __init__(self, catalog: dict[str, Any]) -> None:
        self.catalog = catalog
        self.items = {item["name"]: item for item in catalog["items"]}
        self.groups = {group["name"]: group for group in catalog["modifier_groups"]}
        self.discounts = {d["name"]: d for d in catalog["discounts"]}

    def option(self, group: str, name: str) -> str:
        return next(o["id"] for o in self.groups[group]["options"] if o["name"] == name)

    def variant(self, item: str, name: str) -> str:
        return next(v["id"] for v in self.items[item]["variants"] if v["name"] == name)

    def line(self, item: str, quantity: int = 1, **options: str) -> dict[str, Any]:
        """A request line: ``options`` maps group name -> option name, e.g. Size="Large"."""
        option_ids = [self.option(group.replace("_", " "), name) for group, name in options.items()]
        return {"item_id": self.items[item]["id"], "quantity": quantity, "option_ids": option_ids}

    def latte(self) -> dict[str, Any]:
        """A Large Oat Latte: 340 + 50 + 40 = 430, VAT 20 % inclusive."""
        return self.line("Latte", Size="Large", Milk="Oat")


def read_menu(tablet: Tablet) -> Menu:
    """The catalog as the tablet reads it."""
    return Menu(expect_json(tablet.get("/api/v1/catalog")))
