"""The README's story, step by step: pair, PIN login, open the till, sell, take cash, close."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import CASHIER_PIN, cli, running_edge

LATTE_LARGE_MINOR = 340 + 50
CROISSANT_MINOR = 280


def test_a_new_user_sells_with_nothing_but_the_api(tmp_path: Path) -> None:
    with running_edge(tmp_path / "data") as server, httpx.Client(base_url=server.url) as http:
        api = "/api/v1"
        code = cli("pairing-code", "--data", str(server.data_dir)).stdout.strip()
        pair = http.post(f"{api}/devices/pair", json={"code": code, "name": "till 1"})
        device = pair.json()["device_token"]
        login = http.post(
            f"{api}/auth/pin", json={"pin": CASHIER_PIN}, headers={"X-Device-Token": device}
        )
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        opened = http.post(f"{api}/drawer/sessions", json={"counts": {"1000": 5, "100": 10}})
        assert opened.status_code == 201, opened.text

        latte = http.get(f"{api}/catalog/items", params={"q": "Latte"}).json()[0]["id"]
        croissant = http.get(f"{api}/catalog/items", params={"q": "Croissant"}).json()[0]["id"]
        groups = http.get(f"{api}/catalog").json()["modifier_groups"]
        size = next(g for g in groups if g["name"] == "Size")
        large = next(o["id"] for o in size["options"] if o["name"] == "Large")
        order = http.post(
            f"{api}/orders",
            json={
                "lines": [
                    {"item_id": latte, "option_ids": [large], "quantity": 1},
                    {"item_id": croissant, "quantity": 1},
                ]
            },
        )
        assert order.status_code == 201, order.text
        total = order.json()["totals"]["total_minor"]
        assert total == LATTE_LARGE_MINOR + CROISSANT_MINOR  # VAT is included in café prices

        paid = http.post(
            f"{api}/orders/{order.json()['id']}/payments",
            json={"tender": "cash", "tendered_minor": 2000},
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["change_minor"] == 2000 - total
        assert paid.json()["order"]["state"] == "paid"

        session = http.get(f"{api}/drawer/sessions/current").json()["id"]
        # In the drawer: the float (£60) plus the sale; the cashier counts 20p short.
        counts = {"1000": 5, "100": 11, "500": 1, "50": 1}
        closed = http.post(f"{api}/drawer/sessions/{session}/close", json={"counts": counts})
        assert closed.status_code == 200, closed.text
        body = closed.json()
        assert body["expected_minor"] == 6000 + total
        assert body["counted_minor"] == 6000 + 100 + 500 + 50
        assert body["over_short_minor"] == body["counted_minor"] - body["expected_minor"] == -20
