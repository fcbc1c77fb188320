"""The quick-service sale: ring up and pay in one request, all or nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.support.problems import assert_problem
from tests.support.server import CASHIER_PIN, Tablet, pair_tablet, running_edge


def _croissant(tablet: Tablet) -> str:
    return str(tablet.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()[0]["id"])


def _sale(item_id: str, **payment: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lines": [{"item_id": item_id, "quantity": 2}],
        "payments": [{"tender": "cash", "tendered_minor": 1000, **payment}],
    }


def test_ring_up_and_pay_in_one_request(tmp_path: Path) -> None:
    with running_edge(tmp_path / "data") as server:
        tablet = pair_tablet(server)
        tablet.login(CASHIER_PIN)
        item = _croissant(tablet)
        body = _sale(item)

        refused = tablet.post("/api/v1/orders", json=body)
        assert_problem(refused, 409, "drawer-closed")  # no till open: no order either
        assert tablet.get(f"/api/v1/orders/{body['id']}").status_code == 404
        assert tablet.get("/api/v1/orders").json() == []

        opened = tablet.post("/api/v1/drawer/sessions", json={"counts": {"1000": 5}})
        assert opened.status_code == 201
        sold = tablet.post("/api/v1/orders", json=body)
        assert sold.status_code == 201, sold.text
        order = sold.json()
        assert order["state"] == "paid"
        assert order["number"] == 1  # the refused attempt took no number
        [payment] = order["payments"]
        assert payment["amount_minor"] == order["totals"]["total_minor"] == 560
        assert payment["change_minor"] == 1000 - 560

        replay = tablet.post("/api/v1/orders", json=body)
        assert replay.status_code == 200
        assert replay.json()["payments"] == order["payments"]
        detail = tablet.get(f"/api/v1/orders/{body['id']}").json()
        assert len(detail["payments"]) == 1  # never charged twice

        split = _sale(item)
        split["payments"] = [
            {"tender": "card", "amount_minor": 300},
            {"tender": "cash", "tendered_minor": 500},
        ]
        both = tablet.post("/api/v1/orders", json=split).json()
        assert both["state"] == "paid"
        assert [p["amount_minor"] for p in both["payments"]] == [300, 260]
        assert both["payments"][1]["change_minor"] == 240


def test_a_refused_tender_leaves_no_order(tmp_path: Path) -> None:
    with running_edge(tmp_path / "data") as server:
        tablet = pair_tablet(server)
        tablet.login(CASHIER_PIN)
        body = _sale(_croissant(tablet))
        body["payments"] = [{"tender": "card", "amount_minor": 99_999}]  # more than the total
        assert tablet.post("/api/v1/orders", json=body).status_code == 409
        assert tablet.get("/api/v1/orders").json() == []
        assert tablet.get(f"/api/v1/orders/{body['id']}").status_code == 404
