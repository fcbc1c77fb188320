"""A relay process admits only what a store's appliance may write; a refused push stores nothing.

Each push below is a well-formed Yjs update that the relay of old stored and every appliance of
the org then choked on (or, for an owner, obeyed). Now each is refused whole, with a problem that
names the document, the entry and the rule, nothing of it is stored, and the device goes on
syncing what is good.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import msgspec
import pycrdt
import pytest

from shared.ids import now_ms
from shared.schemas import compact, stamped
from shared.schemas.documents import AuditEntry, Payment, catalog_doc, day_doc, people_doc
from shared.schemas.sync import PushResponse
from tests.relay.support import (
    TEST_STORE,
    RelayServer,
    SyncClient,
    content,
    edits,
    push_request,
    relay_cli,
    write_note,
)
from tests.relay.test_owner_catalog import World, opened
from tests.support.problems import assert_problem

VISA = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    unlimited = {"FYNLO_RELAY_SYNC_RATE_PER_S": "1000", "FYNLO_RELAY_SYNC_BURST": "1000"}
    with (
        RelayServer(tmp_path_factory.mktemp("relay") / "data", env=unlimited) as relay,
        opened(relay) as clients,
    ):
        yield clients


def _stamping(ahead_ms: int = 0) -> stamped.Stamping:
    return stamped.Stamping(now_ms() + ahead_ms, TEST_STORE, None)


def _update(write: Callable[[pycrdt.Doc], None], doc: pycrdt.Doc | None = None) -> bytes:
    doc = doc or pycrdt.Doc()
    before = doc.get_state()
    write(doc)
    return doc.get_update(before)


def _entity(
    root: str, fields: dict[str, object], ahead_ms: int = 0
) -> Callable[[pycrdt.Doc], None]:
    key = str(uuid.uuid4())

    def write(doc: pycrdt.Doc) -> None:
        cells = stamped.new_cells({"id": key, **fields}, _stamping(ahead_ms))
        doc.get(root, type=pycrdt.Map)[key] = pycrdt.Map(cells)

    return write


def _put_entity(root: str, key: str, cells: dict[str, str]) -> Callable[[pycrdt.Doc], None]:
    return lambda d: d.get(root, type=pycrdt.Map).update({key: pycrdt.Map(cells)})


def _refused(device: SyncClient, doc_id: str, body: bytes, status: int, code: str) -> None:
    """The push is refused with that problem, naming the document, and nothing is stored."""
    heads = device.heads()
    answer = device.send("push", push_request({doc_id: [body]}))
    problem = assert_problem(answer, status, code)
    named = [problem.get("doc_id"), *problem.get("doc_ids", [])]  # type: ignore[misc]
    assert doc_id in named and "nothing was stored" in str(problem["detail"])
    assert device.heads() == heads


def _pushed(device: SyncClient, doc_id: str, body: bytes) -> PushResponse:
    return device.push({doc_id: [body]})


def test_entries_no_reader_can_read_are_refused(world: World) -> None:
    catalog, day = catalog_doc(world.org), day_doc(world.store, "2025-06-01")
    item_as_text = _update(lambda d: d.get("items", type=pycrdt.Map).update({"x": "latte"}))
    _refused(world.device, catalog, item_as_text, 422, "entity-invalid")
    unknown_root = _update(lambda d: d.get("customers", type=pycrdt.Map).update({"a": 1}))
    _refused(world.device, catalog, unknown_root, 422, "unknown-root")
    _refused(world.device, f"org/{world.org}/customers/1", edits({"a": 1})[1][0], 422,
             "unknown-document")  # fmt: skip
    no_price = _entity("items", {"name": "Latte", "price_minor": "3.40"})
    _refused(world.device, catalog, _update(no_price), 422, "cell-invalid")
    unstamped = _update(
        lambda d: d.get("categories", type=pycrdt.Map).update(
            {str(uuid.uuid4()): pycrdt.Map({"name": '"Tea"'})}
        )
    )
    _refused(world.device, catalog, unstamped, 422, "cell-invalid")
    ahead = _entity("categories", {"name": "Tea"}, ahead_ms=24 * 3600 * 1000)
    _refused(world.device, catalog, _update(ahead), 422, "stamp-ahead")
    garbage = _update(
        lambda d: d.get("audit", type=pycrdt.Map).update({str(uuid.uuid4()): b"\x01"})
    )
    _refused(world.device, day, garbage, 422, "entity-invalid")


def test_a_refused_document_refuses_the_whole_push_and_sync_goes_on(world: World) -> None:
    day = day_doc(world.store, "2025-06-02")
    good = edits({"sale": "one tea"}, day)
    bad = _update(lambda d: d.get("orders", type=pycrdt.Map).update({"o": "not an order"}))
    heads = world.device.heads()
    answer = world.device.send("push", push_request({day: good[1], catalog_doc(world.org): [bad]}))
    assert_problem(answer, 422, "unknown-root")  # a catalog has no orders
    assert world.device.heads() == heads  # the good day went nowhere either
    assert world.device.push({day: good[1]}).acks[0].head == 1  # alone, it is taken
    replica = pycrdt.Doc()
    for update in world.device.pull({day: 0}).docs[0].updates:
        replica.apply_update(update.body)
    assert content(replica) == content(good[0])


def test_an_appliance_never_makes_an_owner(world: World) -> None:
    people = people_doc(world.org)
    _refused(world.device, people, _update(_entity("employees", {"name": "Eve", "role": "owner"})),
             403, "owner-refused")  # fmt: skip
    doc = pycrdt.Doc()
    key_of: dict[str, str] = {}

    def hire(d: pycrdt.Doc) -> None:
        _entity("employees", {"name": "Sam", "role": "server"})(d)
        key_of["sam"] = next(iter(d.get("employees", type=pycrdt.Map).keys()))

    _pushed(world.device, people, _update(hire, doc))
    sam = doc.get("employees", type=pycrdt.Map)[key_of["sam"]]
    promote = _update(lambda d: stamped.write(sam, "role", "owner", _stamping()), doc)
    _refused(world.device, people, promote, 403, "owner-refused")
    pepper = _update(lambda d: d.get("meta", type=pycrdt.Map).update(
        stamped.new_cells({"pin_pepper": "mine"}, _stamping())))  # fmt: skip
    _refused(world.device, people, pepper, 403, "relay-only")
    pin_tag = _update(_entity("employees", {"name": "Al", "role": "server", "pin_tag": "abc"}))
    _refused(world.device, people, pin_tag, 403, "retired-field")
    held = _pulled(world.device, people)  # what the relay holds: none of the refused edits
    fire = _update(lambda d: d.get("employees", type=pycrdt.Map).pop(key_of["sam"]), held)
    _refused(world.device, people, fire, 403, "delete-refused")


def test_money_entries_only_grow(world: World) -> None:
    day = day_doc(world.store, "2025-06-03")
    doc, key = pycrdt.Doc(), str(uuid.uuid4())
    payment = Payment(
        id=key, order_id=str(uuid.uuid4()), tender="cash", amount_minor=340, tendered_minor=500,
        change_minor=160, taken_by="e", device_id="d", taken_at_ms=now_ms(),
    )  # fmt: skip
    payments = doc.get("payments", type=pycrdt.Map)
    _pushed(
        world.device, day, _update(lambda d: payments.update({key: compact.encode(payment)}), doc)
    )
    smaller = msgspec.structs.replace(payment, amount_minor=34)
    rewrite = _update(lambda d: payments.update({key: compact.encode(smaller)}), doc)
    _refused(world.device, day, rewrite, 403, "append-only")
    held = _pulled(world.device, day)
    gone = _update(lambda d: d.get("payments", type=pycrdt.Map).pop(key), held)
    _refused(world.device, day, gone, 403, "delete-refused")


def test_no_card_number_is_stored(world: World) -> None:
    day = day_doc(world.store, "2025-06-04")
    doc = pycrdt.Doc()
    card = _update(
        lambda d: write_note(d, str(uuid.uuid4()), "note", f"card {VISA} exp 12/29"), doc
    )
    _refused(world.device, day, card, 422, "card-number")
    in_a_name = _entity("categories", {"name": f"Tab {VISA}"})
    _refused(world.device, catalog_doc(world.org), _update(in_a_name), 422, "card-number")
    # Numbers that are not cards pass: ids, an EAN-13 barcode, a phone number.
    cola = {"name": "Cola 0207 946 0000", "price_minor": 150, "category_id": str(uuid.uuid4())}
    fine = _entity("items", {**cola, "barcode": "4006381333931"})
    _pushed(world.device, catalog_doc(world.org), _update(fine))


def _pulled(device: SyncClient, doc_id: str) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    for update in device.pull({doc_id: 0}).docs[0].updates:
        doc.apply_update(update.body)
    return doc


def test_no_trick_of_yjs_makes_or_unmakes_an_owner(world: World) -> None:
    people = people_doc(world.org)
    doc = _pulled(world.device, people)
    employees = doc.get("employees", type=pycrdt.Map)
    owner_id, owner = next(
        (k, e) for k, e in employees.items() if stamped.values(e).get("role") == "owner"
    )  # seated by the relay when the device enrolled
    role_key = next(k for k in owner if k.startswith("role@"))
    # Two updates of one push overwrite the owner's role cell: each value it held counts.
    demote = [
        _update(lambda d: owner.update({role_key: '{"v":"manager","by":null}'}), doc),
        _update(lambda d: owner.update({role_key: '{"v":"server","by":null}'}), doc),
    ]
    heads = world.device.heads()
    answer = world.device.send("push", push_request({people: demote}))
    assert_problem(answer, 403, "owner-refused")
    assert world.device.heads() == heads
    # One stamp spelled two ways, "owner" and "manager": which wins would depend on map order.
    at = now_ms()
    key = str(uuid.uuid4())
    twins = {
        f"role@{at:013d}.0000.{TEST_STORE}": '{"v":"owner","by":null}',
        f"role@0{at:013d}.0000.{TEST_STORE}": '{"v":"manager","by":null}',
        **stamped.new_cells({"id": key, "name": "Eve"}, _stamping()),
    }
    fresh = _update(_put_entity("employees", key, twins))
    _refused(world.device, people, fresh, 403, "owner-refused")
    twins.pop(f"role@{at:013d}.0000.{TEST_STORE}")
    spelled = _update(
        lambda d: d.get("employees", type=pycrdt.Map).update({key: pycrdt.Map(twins)})
    )
    _refused(world.device, people, spelled, 422, "cell-invalid")
    # Even the owner's own name, or a cell of the owner's that cannot be read, is the relay's.
    held = _pulled(world.device, people)
    theirs = held.get("employees", type=pycrdt.Map)[owner_id]
    rename = _update(lambda d: stamped.write(theirs, "name", "Boss", _stamping()), held)
    _refused(world.device, people, rename, 403, "owner-refused")
    assert owner_id in _pulled(world.device, people).get("employees", type=pycrdt.Map)


def test_a_deletion_of_what_the_relay_does_not_hold_is_refused(world: World) -> None:
    # Another till's payment, not pushed yet: a device that deleted it ahead (its Yjs ids are
    # easy to guess) would have it vanish on arrival, unseen by any check.
    day = day_doc(world.store, "2025-06-05")
    till, key = pycrdt.Doc(), str(uuid.uuid4())
    payment = Payment(
        id=key, order_id=str(uuid.uuid4()), tender="cash", amount_minor=500, tendered_minor=500,
        taken_by="e", device_id="till-2", taken_at_ms=now_ms(),
    )  # fmt: skip
    payments = till.get("payments", type=pycrdt.Map)
    taken = _update(lambda d: payments.update({key: compact.encode(payment)}), till)
    ahead = _update(lambda d: payments.pop(key), till)  # the deletion alone, no struct
    _refused(world.device, day, ahead, 422, "update-incomplete")
    _pushed(world.device, day, taken)
    assert key in _pulled(world.device, day).get("payments", type=pycrdt.Map)


def test_card_numbers_hidden_anywhere_are_refused(world: World) -> None:
    day, catalog = day_doc(world.store, "2025-06-06"), catalog_doc(world.org)
    key = str(uuid.uuid4())
    note = AuditEntry(id=key, at_ms=now_ms(), actor_id=None, device_id=None, action="x",
                      entity_type="note", detail={VISA.replace(" ", ""): "as a key"})  # fmt: skip
    as_key = _update(lambda d: d.get("audit", type=pycrdt.Map).update({key: compact.encode(note)}))
    _refused(world.device, day, as_key, 422, "card-number")
    plain = AuditEntry(id=key, at_ms=now_ms(), actor_id=None, device_id=None, action="x",
                       entity_type="note")  # fmt: skip
    extra = msgspec.msgpack.encode([*msgspec.msgpack.decode(compact.encode(plain)), VISA])
    past_fields = _update(lambda d: d.get("audit", type=pycrdt.Map).update({key: extra}))
    _refused(world.device, day, past_fields, 422, "card-number")
    cells = stamped.new_cells({"id": key, "name": "Tea"}, _stamping())
    name_key = next(k for k in cells if k.startswith("name@"))
    cells[name_key] = msgspec.json.encode({"v": "Tea", "by": f"Visa-{VISA}"}).decode()
    in_by = _update(_put_entity("categories", key, cells))
    _refused(world.device, catalog, in_by, 422, "card-number")


def test_odd_ids_and_deep_values_are_refused_not_crashed_on(world: World) -> None:
    for day in ("2025--1-01", "2025-02-30", "9999-99-99"):
        _refused(world.device, f"store/{world.store}/day/{day}", edits({"a": 1})[1][0], 422,
                 "unknown-document")  # fmt: skip
    cells = stamped.new_cells({"name": "Tea"}, _stamping())
    name_key = next(iter(cells))
    key = str(uuid.uuid4())
    cells[name_key] = '{"v":' + "[" * 5000 + '"x"' + "]" * 5000 + ',"by":null}'
    cells.update(stamped.new_cells({"id": key}, _stamping()))
    nested = _update(
        lambda d: d.get("categories", type=pycrdt.Map).update({key: pycrdt.Map(cells)})
    )
    answer = world.device.send("push", push_request({catalog_doc(world.org): [nested]}))
    assert answer.status_code == 422, answer.text
    bad_key = _update(lambda d: d.get("employees", type=pycrdt.Map).update(
        {"../x": pycrdt.Map(stamped.new_cells({"id": "../x", "name": "Al", "role": "server"},
                                              _stamping()))}))  # fmt: skip
    _refused(world.device, people_doc(world.org), bad_key, 422, "entity-invalid")


def test_a_store_never_writes_under_another_stores_client_id(world: World) -> None:
    catalog = catalog_doc(world.org)
    data = str(world.relay.data_dir)
    made = relay_cli("store", "create", "--data", data, "--org", world.org, "--name", "S2")
    code = made.stdout.split()[-1]
    url = f"{world.relay.url}/api/v1/devices/enroll"
    enrolled = httpx.post(url, json={"code": code, "name": "till 2"})
    other = SyncClient(world.relay, enrolled.json()["token"])
    try:
        till = pycrdt.Doc()
        _pushed(world.device, catalog, _update(_entity("categories", {"name": "Tea"}), till))
        # Store 2 writes under store 1's client id, at the clocks store 1 will use next: had it
        # been taken, store 1's next category would land as "already held" and vanish.
        squatter = pycrdt.Doc(client_id=till.client_id)
        squatter.apply_update(till.get_update())
        ahead = _update(_entity("categories", {"name": "Squat"}), squatter)
        _refused(other, catalog, ahead, 403, "client-id-taken")
        mine = _update(_entity("categories", {"name": "Coffee"}), till)
        _pushed(world.device, catalog, mine)
        names = [
            stamped.values(c)["name"]
            for c in _pulled(other, catalog).get("categories", type=pycrdt.Map).values()
        ]
        assert "Coffee" in names and "Squat" not in names
    finally:
        other.close()
