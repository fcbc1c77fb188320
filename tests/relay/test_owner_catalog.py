"""The owner's catalog and settings edits on a real relay process reach devices as updates.

A device pushes a catalog in the edge's layout (a nested Map of field -> msgspec JSON per
entity); the owner edits it through the relay's API; the device pulls an ordinary Yjs update that
changes only the fields the owner named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pycrdt
import pytest
from websockets.sync.client import connect

from shared.ids import now_ms, uuid7
from shared.schemas import stamped
from shared.schemas.documents import Category, Item, StoreSettings, catalog_doc, settings_doc
from tests.relay.support import TEST_STORE, RelayServer, SyncClient, relay_cli
from tests.support.problems import assert_problem

PASSWORD = "owner-password-1"


@dataclass
class World:
    relay: RelayServer
    org: str
    store: str
    owner: httpx.Client
    device: SyncClient


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with RelayServer(tmp_path_factory.mktemp("relay") / "data") as relay, opened(relay) as clients:
        yield clients


@contextmanager
def opened(relay: RelayServer) -> Iterator[World]:
    """An org, its owner and one store's appliance on ``relay``; after, no error was logged."""
    clients = _world(relay)
    try:
        yield clients
    finally:
        clients.owner.close()
        clients.device.close()
    assert 'status="500"' not in httpx.get(f"{relay.url}/metrics").text
    assert '"level": "error"' not in relay.log.read_text()


def _world(relay: RelayServer) -> World:
    data = str(relay.data_dir)
    org = _org(relay, "owner@cat.test", PASSWORD)
    store, code = relay_cli(
        "store", "create", "--data", data, "--org", org, "--name", "S"
    ).stdout.split()
    owner = _login(relay, "owner@cat.test", PASSWORD)
    enrolled = httpx.post(f"{relay.url}/api/v1/devices/enroll", json={"code": code, "name": "till"})
    assert enrolled.status_code == 201, enrolled.text
    return World(relay, org, store, owner, SyncClient(relay, enrolled.json()["token"]))


def _org(relay: RelayServer, email: str, password: str) -> str:
    return relay_cli(
        "org", "create", "--data", str(relay.data_dir), "--name", "Cat Co",
        "--owner-email", email, "--owner-password", password,
    ).stdout.strip()  # fmt: skip


def _login(relay: RelayServer, email: str, password: str) -> httpx.Client:
    response = httpx.post(
        f"{relay.url}/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return httpx.Client(base_url=relay.url, headers={"Authorization": f"Bearer {token}"})


def _put(doc: pycrdt.Doc, coll: str, entity: Item | Category) -> bytes:
    """Write an entity as the edge does (nested Map of stamped cells); the update it made."""
    before = doc.get_state()
    cells = stamped.new_cells(
        msgspec.structs.asdict(entity), stamped.Stamping(now_ms(), TEST_STORE, None)
    )
    doc.get(coll, type=pycrdt.Map)[entity.id] = pycrdt.Map(cells)
    return doc.get_update(before)


def _catalog(world: World) -> tuple[pycrdt.Doc, Item, int]:
    """A fresh catalog document with one category and a latte, pushed by the device."""
    doc_id = catalog_doc(world.org)
    doc = pycrdt.Doc()
    category = Category(id=uuid7(), name="Coffee")
    latte_id = uuid7()
    latte = Item(id=latte_id, name="Latte", category_id=category.id, price_minor=340, sku=latte_id)
    updates = [_put(doc, "categories", category), _put(doc, "items", latte)]
    head = world.device.push({doc_id: updates}).acks[0].head
    return doc, latte, head


def _pull(world: World, doc_id: str, cursor: int) -> tuple[list[bytes], int]:
    pulled = world.device.pull({doc_id: cursor}).docs[0]
    return [u.body for u in pulled.updates], pulled.cursor


def _item(doc: pycrdt.Doc, item_id: str) -> dict[str, Any]:
    """An item's fields as they read now: each its winning cell."""
    return stamped.values(doc.get("items", type=pycrdt.Map)[item_id])


def test_a_price_edit_reaches_the_device_as_an_update_of_that_field(world: World) -> None:
    doc, latte, head = _catalog(world)
    url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
    response = world.owner.patch(url, json={"price_minor": 360})
    assert response.status_code == 200, response.text
    assert response.json()["price_minor"] == 360 and response.json()["name"] == "Latte"

    bodies, cursor = _pull(world, catalog_doc(world.org), head)
    assert cursor == head + 1 and len(bodies) == 1
    replica = pycrdt.Doc()
    replica.apply_update(doc.get_update())  # the device's own document...
    replica.apply_update(bodies[0])  # ...then what the owner changed
    assert _item(replica, latte.id) == {
        **msgspec.to_builtins(latte),
        "price_minor": 360,
    }
    # The edit wrote one field (a stamped cell, its older cell deleted): far less than an item.
    assert len(bodies[0]) < 160 < len(doc.get_update())


def test_the_owner_and_a_store_editing_other_fields_at_once_both_keep_their_edit(
    world: World,
) -> None:
    doc, latte, head = _catalog(world)
    url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
    assert world.owner.patch(url, json={"price_minor": 375}).status_code == 200
    # The store renames the latte without having seen the owner's price.
    before = doc.get_state()
    stamping = stamped.Stamping(now_ms(), TEST_STORE, None)
    stamped.write(doc.get("items", type=pycrdt.Map)[latte.id], "name", "Caffè latte", stamping)
    world.device.push({catalog_doc(world.org): [doc.get_update(before)]})

    listed = world.owner.get(f"/api/v1/orgs/{world.org}/catalog/items").json()
    assert [(i["name"], i["price_minor"]) for i in listed if i["id"] == latte.id] == [
        ("Caffè latte", 375)
    ]
    bodies, _ = _pull(world, catalog_doc(world.org), head)
    for body in bodies:
        doc.apply_update(body)
    assert _item(doc, latte.id)["price_minor"] == 375 and _item(doc, latte.id)["name"] == (
        "Caffè latte"
    )


def test_an_edit_that_changes_nothing_appends_nothing(world: World) -> None:
    _, latte, head = _catalog(world)
    url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
    assert world.owner.patch(url, json={"price_minor": 340, "name": "Latte"}).status_code == 200
    assert world.device.heads()[catalog_doc(world.org)] == head


def test_bad_item_edits_are_refused_and_write_nothing(world: World) -> None:
    _, other, _ = _catalog(world)
    _, latte, head = _catalog(world)
    base = f"/api/v1/orgs/{world.org}/catalog/items"
    unknown = world.owner.patch(f"{base}/{uuid7()}", json={"price_minor": 1})
    assert_problem(unknown, 404, "not-found")
    taken = world.owner.patch(f"{base}/{latte.id}", json={"sku": other.sku})
    assert_problem(taken, 409, "conflict")
    for body in (
        {"price_minor": -1},
        {"price_minor": "3.40"},
        {"name": ""},
        {"colour": "red"},
        {"category_id": uuid7()},  # no such category
    ):
        response = world.owner.patch(f"{base}/{latte.id}", json=body)
        assert response.status_code in (400, 422), (body, response.text)
    assert world.device.heads()[catalog_doc(world.org)] == head
    # Once the other item gives its code up, the latte may take it.
    assert world.owner.patch(f"{base}/{other.id}", json={"sku": None}).status_code == 200
    took = world.owner.patch(f"{base}/{latte.id}", json={"sku": other.sku})
    assert took.status_code == 200 and took.json()["sku"] == other.sku
    assert world.device.heads()[catalog_doc(world.org)] == head + 2


def test_another_org_and_anonymous_callers_are_refused(world: World) -> None:
    org_b = _org(world.relay, "owner@other.test", PASSWORD)
    other = _login(world.relay, "owner@other.test", PASSWORD)
    try:
        _, latte, _ = _catalog(world)
        item_url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
        assert_problem(other.patch(item_url, json={"price_minor": 1}), 403, "forbidden")
        assert_problem(other.get(f"/api/v1/orgs/{world.org}/catalog/items"), 403, "forbidden")
        settings_url = f"/api/v1/stores/{world.store}/settings"
        assert_problem(other.patch(settings_url, json={}), 403, "forbidden")
        assert other.get(f"/api/v1/orgs/{org_b}/catalog/items").json() == []
        anonymous = httpx.get(f"{world.relay.url}/api/v1/orgs/{world.org}/catalog/items")
        assert_problem(anonymous, 401, "unauthorized")
    finally:
        other.close()


def test_a_settings_edit_writes_flat_keys_the_device_pulls(world: World) -> None:
    doc_id = settings_doc(world.store)
    head = world.device.heads().get(doc_id, 0)
    url = f"/api/v1/stores/{world.store}/settings"
    with connect(
        f"ws://127.0.0.1:{world.relay.port}/api/v1/sync/ws?token={world.device.token}"
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        response = world.owner.patch(
            url, json={"currency": "GBP", "service_charge_percent": "12.50"}
        )
        assert response.status_code == 200, response.text
        hint = json.loads(ws.recv(timeout=10))
    assert hint == {"type": "doc.changed", "doc_id": doc_id, "head": head + 1}
    want = msgspec.structs.replace(StoreSettings(), currency="GBP", service_charge_percent="12.50")
    assert response.json() == msgspec.to_builtins(want)
    assert world.owner.get(url).json() == response.json()

    bodies, _ = _pull(world, doc_id, head)
    replica = pycrdt.Doc()
    for body in bodies:
        replica.apply_update(body)
    assert stamped.values(replica.get("settings", type=pycrdt.Map)) == {
        "currency": "GBP",
        "service_charge_percent": "12.50",
    }
    for body in ({"timezone": "Mars/Olympus"}, {"business_day_cutoff": "25:00"},
                 {"service_charge_percent": "101"}, {"currency": "gbp"}):  # fmt: skip
        assert world.owner.patch(url, json=body).status_code in (400, 422), body
    assert world.device.heads()[doc_id] == head + 1


def test_edits_from_one_relay_run_and_the_next_both_land(world: World) -> None:
    _, latte, head = _catalog(world)
    url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
    assert world.owner.patch(url, json={"sku": "L1"}).status_code == 200
    world.relay.stop()
    world.relay.start()  # a new process: a new client id of its own
    assert world.owner.patch(url, json={"sku": "L2"}).status_code == 200
    assert world.device.heads()[catalog_doc(world.org)] == head + 2
    listed = world.owner.get(f"/api/v1/orgs/{world.org}/catalog/items").json()
    assert [i["sku"] for i in listed if i["id"] == latte.id] == ["L2"]


def test_concurrent_owner_edits_of_one_document_all_land(world: World) -> None:
    _, latte, head = _catalog(world)
    url = f"/api/v1/orgs/{world.org}/catalog/items/{latte.id}"
    bodies = [{"price_minor": 400 + n} for n in range(4)] + [{"name": "Flat white"}, {"sku": None}]
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: world.owner.patch(url, json=body), bodies))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    # Each edit took its turn on the document: six updates, none minted over another.
    assert world.device.heads()[catalog_doc(world.org)] == head + len(bodies)
    listed = world.owner.get(f"/api/v1/orgs/{world.org}/catalog/items").json()
    [after] = [i for i in listed if i["id"] == latte.id]
    assert after["name"] == "Flat white" and after["sku"] is None
    assert after["price_minor"] in range(400, 404)
