"""The relay's API against a real ``fynlo-relay serve`` process on SQLite.

One relay per module: two orgs (A with stores A1 and A2, B with store B1), an owner each, and an
enrolled device per store. Tests use document ids of their own, so they do not see each other's.
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec
import pycrdt
import pytest
from psycopg.conninfo import conninfo_to_dict
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cloud.relay.cli import build_parser
from cloud.relay.security import normalise_code
from cloud.relay.storage.base import Storage
from shared.credentials import token_digest
from shared.ids import now_ms, uuid7
from shared.schemas.sync import (
    MAX_BODY_BYTES,
    PullDoc,
    PullRequest,
    PullResponse,
    PushDoc,
    PushRequest,
    StateRequest,
    StateResponse,
    Update,
    decode,
    decode_state_vector,
    encode,
    update_hash,
)
from tests.relay.support import (
    RelayServer,
    SyncClient,
    content,
    edits,
    push_request,
    relay_cli,
    replay,
    write_note,
)
from tests.support.problems import assert_problem

PASSWORD_A, PASSWORD_B = "owner-a-password", "owner-b-password"
CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@dataclass
class World:
    relay: RelayServer
    org_a: str
    org_b: str
    store_a1: str
    store_a2: str
    store_b1: str
    owner_a: httpx.Client
    owner_b: httpx.Client
    a1: SyncClient  # the appliance of store A1
    a2: SyncClient  # the appliance of store A2 (same org as A1)
    b1: SyncClient  # the appliance of store B1 (another org)


OPEN: list[SyncClient | httpx.Client] = []


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayServer]:
    with RelayServer(tmp_path_factory.mktemp("relay") / "data") as server:
        yield server
        # Whatever the tests sent, nothing may have become a server error.
        assert 'status="500"' not in httpx.get(f"{server.url}/metrics").text
    assert '"level": "error"' not in server.log.read_text()


@pytest.fixture(scope="module")
def world(relay: RelayServer) -> Iterator[World]:
    data = str(relay.data_dir)
    org_a = _org(data, "Café A", "owner@a.test", PASSWORD_A)
    org_b = _org(data, "Bistro B", "owner@b.test", PASSWORD_B)
    made = relay_cli("store", "create", "--data", data, "--org", org_a, "--name", "A1").stdout
    store_a1, code_a1 = made.split()
    assert UUID.match(store_a1) and CODE.match(code_a1)
    owner_a = login(relay, "owner@a.test", PASSWORD_A)
    owner_b = login(relay, "Owner@B.test", PASSWORD_B)  # emails match in any case
    store_a2, code_a2 = _api_store(owner_a, org_a, "A2")
    store_b1, code_b1 = _api_store(owner_b, org_b, "B1")
    try:
        yield World(
            relay=relay,
            org_a=org_a,
            org_b=org_b,
            store_a1=store_a1,
            store_a2=store_a2,
            store_b1=store_b1,
            owner_a=owner_a,
            owner_b=owner_b,
            a1=enroll(relay, code_a1, "A1 appliance"),
            a2=enroll(relay, code_a2, "A2 appliance"),
            b1=enroll(relay, code_b1, "B1 appliance"),
        )
    finally:
        while OPEN:
            OPEN.pop().close()


def _org(data: str, name: str, email: str, password: str) -> str:
    out = relay_cli(
        "org", "create", "--data", data, "--name", name, "--owner-email", email,
        "--owner-password", password,
    ).stdout.strip()  # fmt: skip
    assert UUID.match(out), out
    return out


def _api_store(owner: httpx.Client, org_id: str, name: str) -> tuple[str, str]:
    response = owner.post(f"/api/v1/orgs/{org_id}/stores", json={"name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["store"]["org_id"] == org_id and body["store"]["name"] == name
    assert CODE.match(body["enrollment_code"]["code"])
    return body["store"]["id"], body["enrollment_code"]["code"]


def login(relay: RelayServer, email: str, password: str) -> httpx.Client:
    """An HTTP client carrying the owner's access token."""
    response = httpx.post(
        f"{relay.url}/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    client = httpx.Client(
        base_url=relay.url,
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        timeout=30.0,
    )
    OPEN.append(client)
    return client


def enroll(relay: RelayServer, code: str, name: str) -> SyncClient:
    response = httpx.post(f"{relay.url}/api/v1/devices/enroll", json={"code": code, "name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    client = SyncClient(relay, body["token"], device_id=body["device_id"])
    OPEN.append(client)
    return client


def new_code(world: World, owner: httpx.Client, store_id: str) -> str:
    response = owner.post(f"/api/v1/stores/{store_id}/enrollment-codes")
    assert response.status_code == 201, response.text
    body = response.json()
    # Valid for 24 hours.
    assert abs(body["expires_at_ms"] - (now_ms() + 24 * 3600 * 1000)) < 60_000
    return str(body["code"])


# --- the command line ------------------------------------------------------------------------


def test_every_cli_command_documents_itself(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        ["serve"], ["org", "create"], ["store", "create"], ["enrollment-code"],
        ["device", "list"], ["device", "revoke"],
    ]  # fmt: skip
    for command in commands:
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args([*command, "--help"])
        assert exit_.value.code == 0
        assert "--data" in capsys.readouterr().out, command


def test_the_cli_prints_a_code_that_enrolls(world: World) -> None:
    store_id, _ = _api_store(world.owner_a, world.org_a, "A by CLI")  # no appliance yet
    out = relay_cli("enrollment-code", "--data", str(world.relay.data_dir), "--store", store_id)
    code = out.stdout.strip()
    assert CODE.match(code)
    device = enroll(world.relay, code.lower(), "A spare")  # typed in lower case: still good
    assert all(doc_id.startswith(f"org/{world.org_a}/") for doc_id in device.heads())


def test_the_cli_refuses_unknown_ids_and_taken_emails(world: World) -> None:
    data = str(world.relay.data_dir)
    unknown = relay_cli(
        "store", "create", "--data", data, "--org", "nope", "--name", "X", check=False
    )
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    taken = relay_cli(
        "org", "create", "--data", data, "--name", "Again", "--owner-email", "OWNER@a.test",
        "--owner-password", "another-password", check=False,
    )  # fmt: skip
    assert taken.returncode == 2 and "exists" in taken.stderr


# --- owners ----------------------------------------------------------------------------------


def test_a_wrong_password_or_unknown_email_is_refused_alike(relay: RelayServer) -> None:
    for email, password in (("owner@a.test", "not-it"), ("nobody@a.test", PASSWORD_A)):
        response = httpx.post(
            f"{relay.url}/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert_problem(response, 401, "login-failed")


def test_an_owner_lists_and_creates_stores_of_their_org(world: World) -> None:
    stores = world.owner_a.get(f"/api/v1/orgs/{world.org_a}/stores")
    assert stores.status_code == 200, stores.text
    assert {s["id"] for s in stores.json()} >= {world.store_a1, world.store_a2}
    store_id, code = _api_store(world.owner_a, world.org_a, "A3")
    device = enroll(world.relay, code, "A3 appliance")
    assert device.pull({f"store/{store_id}/settings": 0}).docs[0].updates == []


def test_an_owner_cannot_see_or_touch_another_org(world: World) -> None:
    other = world.owner_a
    assert_problem(other.get(f"/api/v1/orgs/{world.org_b}/stores"), 403, "forbidden")
    created = other.post(f"/api/v1/orgs/{world.org_b}/stores", json={"name": "Intruder"})
    assert_problem(created, 403, "forbidden")
    code = other.post(f"/api/v1/stores/{world.store_b1}/enrollment-codes")
    assert_problem(code, 403, "forbidden")
    unknown = other.post("/api/v1/stores/no-such-store/enrollment-codes")
    assert_problem(unknown, 403, "forbidden")  # no telling unknown stores from others' stores
    stores = world.owner_b.get(f"/api/v1/orgs/{world.org_b}/stores").json()
    assert "B1" in [s["name"] for s in stores] and {s["org_id"] for s in stores} == {world.org_b}


def test_the_owner_api_needs_an_owner_token(world: World) -> None:
    url = f"{world.relay.url}/api/v1/orgs/{world.org_a}/stores"
    assert_problem(httpx.get(url), 401, "unauthorized")
    device_token = {"Authorization": f"Bearer {world.a1.token}"}
    assert_problem(httpx.get(url, headers=device_token), 401, "unauthorized")


def test_bad_json_bodies_are_problems(world: World) -> None:
    url = f"/api/v1/orgs/{world.org_a}/stores"
    for body in (b"{", b'{"name": 5}', b'{"name": "x", "extra": 1}', b"[]"):
        response = world.owner_a.post(
            url, content=body, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "bad-request")


# --- enrollment ------------------------------------------------------------------------------


def test_an_enrollment_code_works_once(world: World) -> None:
    store_id, _ = _api_store(world.owner_a, world.org_a, "A once")
    code = new_code(world, world.owner_a, store_id)
    enroll(world.relay, code, "first")
    again = httpx.post(
        f"{world.relay.url}/api/v1/devices/enroll", json={"code": code, "name": "second"}
    )
    assert_problem(again, 403, "enrollment-code-invalid")


def test_expired_and_unknown_codes_get_the_same_answer(world: World) -> None:
    expired = "EXPI-REDC-ODE2"

    async def add(storage: Storage) -> None:
        digest = token_digest(normalise_code(expired))
        await storage.add_enrollment_code(digest, world.store_a1, now_ms() - 1)

    world.relay.storage(add)
    url = f"{world.relay.url}/api/v1/devices/enroll"
    answers = [
        httpx.post(url, json={"code": code, "name": "late"}) for code in (expired, "NOPE-NOPE-NOPE")
    ]
    bodies = [assert_problem(answer, 403, "enrollment-code-invalid") for answer in answers]
    assert bodies[0]["detail"] == bodies[1]["detail"]


# --- sync ------------------------------------------------------------------------------------


def test_push_then_pull_round_trips_real_updates(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-01"
    source, updates = edits({"order-1": "two croissants", "order-2": 1250, "order-3": True}, doc_id)
    first = world.a1.push({doc_id: updates[:2]})
    assert first.acks[0].accepted == 2 and first.acks[0].head == 2
    second = world.a1.push({doc_id: updates[2:]}, compress=True)  # deflated bodies too
    assert second.acks[0].accepted == 1 and second.acks[0].head == 3

    pulled = world.a1.pull({doc_id: 0})
    doc = pulled.docs[0]
    assert doc.cursor == 3 and not doc.more
    assert [u.body for u in doc.updates] == updates
    assert replay([u.body for u in doc.updates]) == content(source)
    assert world.a1.heads()[doc_id] == 3

    page = world.a1.pull({doc_id: 0}, limit=2).docs[0]
    assert (page.cursor, page.more, len(page.updates)) == (2, True, 2)
    rest = world.a1.pull({doc_id: page.cursor}, limit=2).docs[0]
    assert (rest.cursor, rest.more, [u.body for u in rest.updates]) == (3, False, updates[2:])


def test_a_segment_is_pulled_as_only_what_the_device_lacks(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-05"
    long_text = "x" * 4000  # the bulk of the document, already held by the device
    source, updates = edits({"order-1": long_text, "order-2": 1250, "order-3": "late"}, doc_id)
    world.a1.push({doc_id: updates})
    assert world.relay.storage(lambda storage: storage.compact(doc_id, at_ms=1))
    device = pycrdt.Doc()  # a replica holding the first two updates, cursor 1 (behind)
    for body in updates[:2]:
        device.apply_update(body)

    def pull(state_vector: bytes | None) -> bytes:
        request = PullRequest(docs=[PullDoc(doc_id=doc_id, cursor=1, state_vector=state_vector)])
        response = world.a1.send("pull", request)
        assert response.status_code == 200, response.text
        page = decode(response.content, PullResponse).docs[0]
        assert (page.cursor, page.segments, len(page.updates)) == (3, 1, 1)
        assert page.updates[0].hash == update_hash(page.updates[0].body)
        return page.updates[0].body

    whole, missing = pull(None), pull(device.get_state())
    assert len(missing) < len(updates[2]) + 100 < len(whole)
    device.apply_update(missing)
    assert content(device) == content(source)
    bad = PullRequest(docs=[PullDoc(doc_id=doc_id, cursor=1, state_vector=b"\xff\xff\xff")])
    assert_problem(world.a1.send("pull", bad), 422, "invalid-state-vector")


def test_a_repeated_push_changes_nothing(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-02"
    _, updates = edits({"a": 1, "b": 2})
    world.a1.push({doc_id: updates})
    again = world.a1.push({doc_id: [*updates, updates[0]]}).acks[0]
    assert (again.accepted, again.duplicates, again.head) == (0, 3, 2)
    assert len(world.a1.pull({doc_id: 0}).docs[0].updates) == 2
    assert _metric(world.relay, "fynlo_relay_duplicates_total") >= 3


def test_a_device_cannot_reach_another_store_or_org(world: World) -> None:
    mine = f"store/{world.store_a1}/day/2025-03-03"
    theirs = [
        f"store/{world.store_a2}/settings",  # a sibling store of the same org
        f"store/{world.store_b1}/settings",  # another org's store
        f"org/{world.org_b}/catalog",  # another org's shared document
    ]
    _, updates = edits({"x": 1})
    for doc_id in theirs:
        # The legitimate document rides along: it must not be stored either.
        response = world.a1.send("push", push_request({mine: updates, doc_id: updates}))
        body = assert_problem(response, 403, "out-of-scope")
        assert body["doc_ids"] == [doc_id]
        pull = world.a1.send("pull", PullRequest(docs=[PullDoc(doc_id=doc_id)]))
        assert_problem(pull, 403, "out-of-scope")
    assert mine not in world.a1.heads()
    assert world.a2.pull({theirs[0]: 0}).docs[0].updates == []
    assert world.b1.pull({theirs[1]: 0, theirs[2]: 0}).docs[0].updates == []
    assert not set(theirs) & (set(world.a2.heads()) | set(world.b1.heads()))


def test_org_documents_are_shared_by_the_org_stores(world: World) -> None:
    doc_id = f"org/{world.org_a}/catalog"
    source, updates = edits({"item-1": "flat white"}, doc_id)
    world.a2.push({doc_id: updates})
    pulled = world.a1.pull({doc_id: 0}).docs[0]
    assert replay([u.body for u in pulled.updates]) == content(source)
    assert doc_id not in world.b1.heads()


def test_bad_sync_bodies_are_problems_and_store_nothing(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-04"
    _, updates = edits({"x": 1})
    good = push_request({doc_id: updates})
    wrong_hash = PushRequest(
        docs=[PushDoc(doc_id=doc_id, updates=[Update(hash=b"\0" * 16, body=updates[0])])]
    )
    garbage = b"not a yjs update"
    not_yjs = PushRequest(
        docs=[PushDoc(doc_id=doc_id, updates=[Update(hash=update_hash(garbage), body=garbage)])]
    )
    bomb = zlib.compress(b"\0" * (MAX_BODY_BYTES + (1 << 20)), 9)
    cases: list[tuple[bytes | msgspec.Struct, dict[str, Any], int, str]] = [
        (b"\xc1\xff\x00", {}, 400, "malformed-body"),
        (msgspec.msgpack.encode({"docs": [{"doc_id": 5, "updates": []}]}), {}, 400,
         "invalid-message"),
        (msgspec.msgpack.encode({"docs": "all of them"}), {}, 400, "invalid-message"),
        (msgspec.msgpack.encode({"docs": [], "extra": 1}), {}, 400, "invalid-message"),
        (encode_with(good, unknown_field=True), {}, 400, "invalid-message"),
        (wrong_hash, {}, 422, "hash-mismatch"),
        (not_yjs, {}, 422, "update-invalid"),
        (bomb, {"headers": {"Content-Encoding": "deflate"}}, 413, "payload-too-large"),
        (zlib.compress(encode(good))[:-8], {"headers": {"Content-Encoding": "deflate"}}, 400,
         "malformed-body"),
        (b"plain text", {"headers": {"Content-Encoding": "deflate"}}, 400, "malformed-body"),
        (good, {"headers": {"Content-Encoding": "gzip"}}, 415, "unsupported-media-type"),
        (good, {"headers": {"Content-Type": "application/json"}}, 415, "unsupported-media-type"),
        (b"\0" * (MAX_BODY_BYTES + 1), {}, 413, "payload-too-large"),
    ]  # fmt: skip
    for body, options, status, code in cases:
        response = world.a1.send("push", body, **options)
        assert_problem(response, status, code)
    assert_problem(world.a1.send("pull", b"\x81\xa4do"), 400, "malformed-body")
    assert doc_id not in world.a1.heads()
    assert world.a1.pull({doc_id: 0}).docs[0].updates == []


def encode_with(message: PushRequest, *, unknown_field: bool) -> bytes:
    """A push with an extra field in a document: forbidden, so a typo never passes silently."""
    raw = msgspec.to_builtins(message)
    if unknown_field:
        raw["docs"][0]["note"] = "typo"
    return msgspec.msgpack.encode(raw)


def test_a_missing_unknown_or_revoked_token_is_refused(world: World) -> None:
    url = f"{world.relay.url}/api/v1/sync/docs"
    assert_problem(httpx.get(url), 401, "unauthorized")
    assert_problem(httpx.get(url, headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    _, code = _api_store(world.owner_a, world.org_a, "A stolen")
    device = enroll(world.relay, code, "stolen")
    device.heads()  # works until revoked

    async def revoke(storage: Storage) -> None:
        await storage.revoke_device(device.device_id, now_ms())

    world.relay.storage(revoke)
    assert_problem(device.http.get("/api/v1/sync/docs"), 401, "unauthorized")
    _, updates = edits({"x": 1})
    assert_problem(device.send("push", push_request({"org/x/y": updates})), 401, "unauthorized")


# --- live hints ------------------------------------------------------------------------------


@contextmanager
def _hints(relay: RelayServer, token: str) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{relay.port}/api/v1/sync/ws?token={token}") as ws:
        hello = json.loads(ws.recv(timeout=10))  # sent once subscribed: later pushes are heard
        assert hello["type"] == "hello"
        yield ws


def test_a_push_hints_the_other_devices_whose_scope_covers_it(world: World) -> None:
    org_doc = f"org/{world.org_a}/people"
    b_doc = f"org/{world.org_b}/people"
    _, code_b2 = _api_store(world.owner_b, world.org_b, "B2")  # one appliance a store
    b2 = enroll(world.relay, code_b2, "B2 appliance")
    with _hints(world.relay, world.a1.token) as a1_ws, _hints(world.relay, world.b1.token) as b1_ws:
        assert _metric(world.relay, "fynlo_relay_devices_connected") >= 2
        _, updates = edits({"emp-1": "Ana"}, org_doc)
        head = world.a2.push({org_doc: updates}).acks[0].head
        hint = json.loads(a1_ws.recv(timeout=10))
        assert hint == {"type": "doc.changed", "doc_id": org_doc, "head": head}
        # Org B's device hears only org B's change, which came after org A's.
        b2.push({b_doc: edits({"emp-9": "Bo"}, b_doc)[1]})
        assert json.loads(b1_ws.recv(timeout=10))["doc_id"] == b_doc
        # A device is not hinted about its own push: the next hint A1 hears is A2's.
        world.a1.push({org_doc: edits({"emp-2": "Cy"}, org_doc)[1]})
        world.a2.push({org_doc: edits({"emp-3": "Di"}, org_doc)[1]})
        assert json.loads(a1_ws.recv(timeout=10))["head"] == head + 2


def test_the_hints_socket_refuses_a_bad_token(relay: RelayServer) -> None:
    for url in (
        f"ws://127.0.0.1:{relay.port}/api/v1/sync/ws",
        f"ws://127.0.0.1:{relay.port}/api/v1/sync/ws?token=nope",
    ):
        with pytest.raises(InvalidStatus), connect(url) as ws:
            ws.recv(timeout=5)


# --- limits and operations -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tight(world: World) -> Iterator[RelayServer]:
    """A second relay process on the same SQLite file with tight limits (set by environment).

    Devices enrolled on the first are known here too: both processes share one database.
    """
    env = {
        "FYNLO_RELAY_SYNC_RATE_PER_S": "0.5",
        "FYNLO_RELAY_SYNC_BURST": "3",
        "FYNLO_RELAY_WS_QUEUE": "1",
    }
    with RelayServer(world.relay.data_dir, env=env) as server:
        yield server
    assert '"level": "error"' not in server.log.read_text()


def test_a_device_syncing_too_fast_is_told_to_wait(world: World, tight: RelayServer) -> None:
    device = SyncClient(tight, world.b1.token)
    try:
        answers = [device.http.get("/api/v1/sync/docs") for _ in range(10)]
    finally:
        device.close()
    statuses = [a.status_code for a in answers]
    assert statuses[:3] == [200, 200, 200]
    refused = answers[statuses.index(429)]
    assert_problem(refused, 429, "too-many-requests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert _metric(tight, "fynlo_relay_rate_limited_total") >= 1


def test_a_device_too_far_behind_on_hints_is_told_to_resync(
    world: World, tight: RelayServer
) -> None:
    pusher = SyncClient(tight, world.a2.token)
    docs = {
        d: edits({"c": 1}, d)[1]
        for d in (f"org/{world.org_a}/catalog", f"org/{world.org_a}/people")
    }
    try:
        with _hints(tight, world.a1.token) as ws:
            # Two hints from one push, with room for one: the listener is dropped.
            pusher.push(docs)
            assert json.loads(ws.recv(timeout=10)) == {"type": "resync"}
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    finally:
        pusher.close()
    assert _metric(tight, "fynlo_relay_hints_dropped_total") == 1


def test_health_metrics_and_schema(world: World) -> None:
    health = httpx.get(f"{world.relay.url}/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}  # nothing more
    assert _metric(world.relay, 'fynlo_relay_storage_info{backend="SqliteStorage"}') == 1
    schema = httpx.get(f"{world.relay.url}/schema/openapi.json")
    assert schema.status_code == 200 and "/api/v1/sync/push" in schema.json()["paths"]
    assert_problem(httpx.get(f"{world.relay.url}/api/v1/nothing"), 404, "not-found")
    assert_problem(httpx.delete(f"{world.relay.url}/api/v1/sync/push"), 405, "method-not-allowed")
    world.a1.push({f"store/{world.store_a1}/day/2025-03-05": edits({"m": 1})[1]})
    for name in (
        "fynlo_relay_pushes_total",
        "fynlo_relay_updates_appended_total",
        "fynlo_relay_enrollments_total",
    ):
        assert _metric(world.relay, name) >= 1, name
    assert (
        'fynlo_relay_http_responses_total{status="200"}'
        in httpx.get(f"{world.relay.url}/metrics").text
    )


def test_options_lists_every_method_of_a_path(world: World) -> None:
    # Litestar 2 listed the first handler's methods only (see shared.openapi.repair_allow).
    for path, allow in (
        (f"/api/v1/stores/{world.store_a1}/settings", "GET, OPTIONS, PATCH"),
        (f"/api/v1/orgs/{world.org_a}/stores", "GET, OPTIONS, POST"),
        ("/api/v1/sync/push", "OPTIONS, POST"),
    ):
        answer = world.owner_a.options(path)
        assert answer.status_code == 204 and answer.headers["allow"] == allow, path


def _metric(relay: RelayServer, name: str) -> float:
    text = httpx.get(f"{relay.url}/metrics").text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


# --- PostgreSQL ------------------------------------------------------------------------------


def _as_url(conninfo: str) -> str:
    """A libpq ``key=value`` string as the postgresql:// URL the relay's --database takes."""
    parts = conninfo_to_dict(conninfo)
    user, dbname = parts.pop("user", ""), parts.pop("dbname", "")
    query = urlencode({k: str(v) for k, v in parts.items()})
    return f"postgresql://{quote(str(user))}@/{quote(str(dbname))}?{query}"


def test_the_relay_serves_from_postgresql(tmp_path: Path, postgres_url: str) -> None:
    data = tmp_path / "data"
    url = _as_url(postgres_url)
    common = ["--data", str(data), "--database", url]
    org = relay_cli(
        "org", "create", *common, "--name", "PG", "--owner-email", f"{uuid7()}@pg.test",
        "--owner-password", PASSWORD_A,
    ).stdout.strip()  # fmt: skip
    store, code = relay_cli("store", "create", *common, "--org", org, "--name", "S").stdout.split()
    assert not (data / "relay.db").exists()  # nothing went to SQLite
    with RelayServer(data, database=url) as server:
        assert _metric(server, 'fynlo_relay_storage_info{backend="PostgresStorage"}') == 1
        device = enroll(server, code, "pg appliance")
        doc_id = f"store/{store}/day/2025-04-01"
        source, updates = edits({"sale": "one tea"})
        assert device.push({doc_id: updates}).acks[0].head == 1
        assert replay([u.body for u in device.pull({doc_id: 0}).docs[0].updates]) == content(source)
        device.close()
        OPEN.remove(device)


def test_an_update_building_on_what_the_relay_lacks_is_refused_whole(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-06"
    author, key = pycrdt.Doc(), str(uuid.uuid4())
    write_note(author, key, "order-1", "first")
    first = author.get_update()
    before = author.get_state()
    write_note(author, key, "order-1", "first, changed")  # builds on the first write
    second = author.get_update(before)
    refused = world.a1.send("push", push_request({doc_id: [second]}))
    assert_problem(refused, 422, "update-incomplete")
    assert doc_id not in world.a1.heads()  # nothing stored
    world.a1.push({doc_id: [first, second]})  # in order, both integrate
    assert replay([u.body for u in world.a1.pull({doc_id: 0}).docs[0].updates]) == {
        "order-1": "first, changed"
    }


def test_the_relay_answers_the_state_vector_of_what_it_holds(world: World) -> None:
    doc_id = f"store/{world.store_a1}/day/2025-03-07"
    source, updates = edits({"order-1": 1, "order-2": 2})
    ack = world.a1.push({doc_id: updates}).acks[0]
    assert ack.state_vector is not None
    assert decode_state_vector(ack.state_vector) == decode_state_vector(source.get_state())
    unknown = f"store/{world.store_a1}/day/2025-03-08"
    response = world.a1.send("state", StateRequest(doc_ids=[doc_id, unknown]))
    assert response.status_code == 200, response.text
    answer = {d.doc_id: d for d in decode(response.content, StateResponse).docs}
    assert answer[doc_id].head == 2
    assert decode_state_vector(answer[doc_id].state_vector) == decode_state_vector(
        source.get_state()
    )
    assert decode_state_vector(answer[unknown].state_vector) == {}
    theirs = f"store/{world.store_a2}/day/2025-03-07"
    assert_problem(world.a1.send("state", StateRequest(doc_ids=[theirs])), 403, "out-of-scope")
