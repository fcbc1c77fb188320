"""What the relay refuses from an appliance, the appliance's own API refuses first.

A change the relay would refuse would sit in the appliance's log unsynced forever; so the same
rules hold where the data is written: owners of an enrolled store are the relay's (none is made
or changed by a store), and no card number enters any text. Real relay and appliance processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.schemas.documents import people_doc
from tests.relay.support import RelayServer
from tests.support.answers import expect_json
from tests.support.held import relay_doc_holds
from tests.support.orders import ORDERS
from tests.support.problems import assert_problem
from tests.support.server import MANAGER_PIN, OWNER_PIN, EdgeServer, employee_id, logged_in
from tests.support.sync import Org, enroll, rows, synced, wait_for

VISA = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
def enrolled(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RelayServer, Org, EdgeServer]]:
    """A relay, its org and one enrolled demo store, shared by these tests."""
    root = tmp_path_factory.mktemp("same-rules")
    with RelayServer(root / "relay") as relay:
        org = Org(relay)
        server, _ = enroll(org, root / "a")
        try:
            yield relay, org, server
        finally:
            server.stop()


def test_owners_come_from_the_relay_and_a_store_never_makes_one(
    enrolled: tuple[RelayServer, Org, EdgeServer],
) -> None:
    relay, org, server = enrolled
    owner = logged_in(server, OWNER_PIN, "office")
    me = expect_json(owner.get("/api/v1/auth/me"))
    assert me["role"] == "owner"  # the relay's owner account, with the demo PIN here
    owner_id = employee_id(owner)
    hire = {"name": "Eve", "role": "owner", "pin": "7391"}
    assert_problem(owner.post("/api/v1/employees", json=hire), 403, "owner-refused")
    rename = owner.patch(f"/api/v1/employees/{owner_id}", json={"name": "Boss"})
    assert_problem(rename, 403, "owner-refused")
    manager = logged_in(server, MANAGER_PIN, "floor")
    promote = manager.patch(f"/api/v1/employees/{employee_id(manager)}", json={"role": "owner"})
    assert_problem(promote, 403, "permission-denied")
    # A PIN lives in the store's own document: the owner still sets theirs here.
    assert owner.patch(f"/api/v1/employees/{owner_id}", json={"pin": "8642"}).status_code == 200
    server_hire = {"name": "Sam", "role": "server", "pin": "5173"}
    sam = expect_json(owner.post("/api/v1/employees", json=server_hire), 201)
    wait_for(lambda: synced(owner), "the store to sync")
    assert rows(server, "SELECT count(*) FROM employees WHERE role = 'owner'") == [(1,)]
    assert sam["id"].encode() in relay_doc_holds(relay.data_dir, people_doc(org.id))


def test_a_card_number_in_any_text_is_refused_and_nothing_is_written(
    enrolled: tuple[RelayServer, Org, EdgeServer],
) -> None:
    _, _, server = enrolled
    till = logged_in(server, MANAGER_PIN, "till")
    items = expect_json(till.get("/api/v1/catalog/items", params={"q": "Croissant"}))
    line = {"item_id": items[0]["id"], "quantity": 1}
    before = rows(server, "SELECT count(*) FROM orders")
    for order in (
        {"lines": [line], "note": f"card {VISA} exp 12/29"},
        {"lines": [{**line, "note": VISA.replace(" ", "-")}]},
    ):
        problem = assert_problem(till.post(ORDERS, json=order), 422, "card-number")
        assert "card number" in str(problem["detail"])
    assert rows(server, "SELECT count(*) FROM orders") == before
    opened = expect_json(till.post(ORDERS, json={"lines": [line], "note": "table 12"}), 201)
    patched = till.patch(f"{ORDERS}/{opened['id']}", json={"note": f"pan {VISA}"})
    assert_problem(patched, 422, "card-number")
    assert expect_json(till.get(f"{ORDERS}/{opened['id']}"))["note"] == "table 12"
    wait_for(lambda: synced(till), "the store to sync: nothing refused by the relay")
