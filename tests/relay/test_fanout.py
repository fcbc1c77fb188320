"""Live hints across relay processes: two real relays on one PostgreSQL database, and the hub.

Org A (stores A1, A2) and org B (stores B1, B2), an appliance each. Relay 1 takes the pushes;
the devices listening on relay 2 hear of them through LISTEN/NOTIFY.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from cloud.relay.fanout import LISTENER_NAME, LocalFanout, decode_hint, encode_hint
from cloud.relay.routes.live import RESYNC, Hub
from cloud.relay.storage.base import Device
from shared.ids import uuid7
from shared.schemas.sync import DocHead
from tests.relay.support import RelayServer, SyncClient, content, edits, relay_cli, replay

PASSWORD = "fanout-owner-password"


@dataclass
class Cluster:
    relay1: RelayServer
    relay2: RelayServer
    org_a: str
    org_b: str
    a1: SyncClient  # store A1, pushes through relay 1
    a2: SyncClient  # store A2 of the same org, listens on relay 2
    b1: SyncClient  # store B1 of another org, listens on relay 2
    b2: SyncClient  # store B2 of org B, pushes through relay 1


def _as_url(conninfo: str) -> str:
    """A libpq ``key=value`` string as the postgresql:// URL the relay's --database takes."""
    parts = conninfo_to_dict(conninfo)
    user, dbname = parts.pop("user", ""), parts.pop("dbname", "")
    query = urlencode({k: str(v) for k, v in parts.items()})
    return f"postgresql://{quote(str(user))}@/{quote(str(dbname))}?{query}"


def _org(common: list[str], name: str) -> str:
    out = relay_cli(
        "org", "create", *common, "--name", name, "--owner-email", f"{uuid7()}@fanout.test",
        "--owner-password", PASSWORD,
    )  # fmt: skip
    return out.stdout.strip()


def _store(common: list[str], org: str, name: str) -> tuple[str, str]:
    store, code = relay_cli("store", "create", *common, "--org", org, "--name", name).stdout.split()
    return store, code


def _enroll(relay: RelayServer, code: str, name: str) -> SyncClient:
    response = httpx.post(f"{relay.url}/api/v1/devices/enroll", json={"code": code, "name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return SyncClient(relay, body["token"], device_id=body["device_id"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("fanout")
    url = _as_url(postgres_url)
    common = ["--data", str(root / "cli"), "--database", url]
    orgs = [_org(common, "Fanout A"), _org(common, "Fanout B")]
    (_, code_a1), (_, code_a2), (_, code_b1), (_, code_b2) = (
        _store(common, orgs[0], "A1"),
        _store(common, orgs[0], "A2"),
        _store(common, orgs[1], "B1"),
        _store(common, orgs[1], "B2"),  # one active appliance a store: B's second is B2's
    )
    with (
        RelayServer(root / "relay1", database=url) as relay1,
        RelayServer(root / "relay2", database=url) as relay2,
    ):
        devices = [
            _enroll(relay1, code_a1, "A1"),
            _enroll(relay2, code_a2, "A2"),
            _enroll(relay2, code_b1, "B1"),
            _enroll(relay1, code_b2, "B2"),
        ]
        try:
            yield Cluster(relay1, relay2, *orgs, *devices)
        finally:
            for device in devices:
                device.close()
    for relay in (relay1, relay2):
        assert '"level": "error"' not in relay.log.read_text()


@contextmanager
def _hints(relay: RelayServer, device: SyncClient) -> Iterator[ClientConnection]:
    url = f"ws://127.0.0.1:{relay.port}/api/v1/sync/ws?token={device.token}"
    with connect(url, compression=None) as ws:
        assert _next(ws)["type"] == "hello"  # subscribed: later pushes are heard
        yield ws


def _next(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=10)))


def test_a_push_through_one_relay_hints_devices_on_another(cluster: Cluster) -> None:
    a_doc, b_doc = f"org/{cluster.org_a}/catalog", f"org/{cluster.org_b}/catalog"
    with _hints(cluster.relay2, cluster.a2) as a2_ws, _hints(cluster.relay2, cluster.b1) as b1_ws:
        source, updates = edits({"emp-1": "Ana"}, a_doc)
        head = cluster.a1.push({a_doc: updates}).acks[0].head
        assert _next(a2_ws) == {"type": "doc.changed", "doc_id": a_doc, "head": head}
        # Org B's device hears only org B's change, which was pushed after org A's.
        b_head = cluster.b2.push({b_doc: edits({"emp-9": "Bo"}, b_doc)[1]}).acks[0].head
        assert _next(b1_ws) == {"type": "doc.changed", "doc_id": b_doc, "head": b_head}
        pulled = cluster.a2.pull({a_doc: 0}).docs[0]
        assert pulled.cursor == head and replay([u.body for u in pulled.updates]) == content(source)
        # A device is not hinted about its own push, whichever relay took it.
        a2_via_relay1 = SyncClient(cluster.relay1, cluster.a2.token)
        try:
            a2_via_relay1.push({a_doc: edits({"emp-2": "Cy"}, a_doc)[1]})
        finally:
            a2_via_relay1.close()
        cluster.a1.push({a_doc: edits({"emp-3": "Di"}, a_doc)[1]})
        assert _next(a2_ws) == {"type": "doc.changed", "doc_id": a_doc, "head": head + 2}


def test_the_relay_that_took_a_push_hints_its_devices_once(cluster: Cluster) -> None:
    doc = f"org/{cluster.org_a}/catalog"
    with _hints(cluster.relay1, cluster.a2) as ws:
        first = cluster.a1.push({doc: edits({"c": 1}, doc)[1]}).acks[0].head
        second = cluster.a1.push({doc: edits({"c": 2}, doc)[1]}).acks[0].head
        assert [_next(ws)["head"], _next(ws)["head"]] == [first, second]


def test_a_dropped_listen_connection_reconnects_and_asks_for_a_resync(
    cluster: Cluster, postgres_url: str
) -> None:
    doc = f"org/{cluster.org_a}/catalog"
    with _hints(cluster.relay2, cluster.a2) as ws:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                (LISTENER_NAME,),
            ).fetchone()
        assert killed == (2,)  # one per relay
        # Sent once relay 2 listens again: hints in between may be lost, so list documents.
        assert ws.recv(timeout=30) == RESYNC
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    with _hints(cluster.relay2, cluster.a2) as ws:
        head = cluster.a1.push({doc: edits({"c": 1}, doc)[1]}).acks[0].head
        assert _next(ws) == {"type": "doc.changed", "doc_id": doc, "head": head}


# --- the parts, in process ---------------------------------------------------------------------


def _device(org: str, store: str, name: str) -> Device:
    return Device(id=f"dev-{name}", org_id=org, store_id=store, name=name, enrolled_at_ms=0)


@pytest.mark.anyio
async def test_the_in_process_fanout_hints_the_devices_in_scope_but_the_pusher() -> None:
    hub = Hub(max_queued=4)
    pusher, peer = _device("o1", "s1", "pusher"), _device("o1", "s2", "peer")
    other_store, other_org = _device("o1", "s3", "other-store"), _device("o2", "s9", "other-org")
    listeners = {d.name: hub.subscribe(d) for d in (pusher, peer, other_store, other_org)}
    changed = [
        DocHead(doc_id="org/o1/catalog", head=3),
        DocHead(doc_id="store/s2/settings", head=1),
    ]
    await LocalFanout(hub).publish(changed, pusher.id)
    heard = {
        name: [
            json.loads(listener.hints.get_nowait())["doc_id"] for _ in range(listener.hints.qsize())
        ]
        for name, listener in listeners.items()
    }
    assert heard == {
        "pusher": [],
        "peer": ["org/o1/catalog", "store/s2/settings"],
        "other-store": ["org/o1/catalog"],
        "other-org": [],
    }


def test_a_resync_of_all_drops_every_listener_with_one_resync() -> None:
    hub = Hub(max_queued=4)
    listener = hub.subscribe(_device("o1", "s1", "a"))
    hub.publish("org/o1/catalog", 1)
    hub.resync_all()
    assert hub.connections == 0 and hub.dropped == 1 and listener.dropped
    assert listener.hints.get_nowait() is RESYNC and listener.hints.empty()


def test_hint_payloads_round_trip_and_foreign_ones_are_refused() -> None:
    payload = encode_hint("store/s1/day/2025-01-02", 42, "dev-1")
    assert decode_hint(payload) == ("store/s1/day/2025-01-02", 42, "dev-1")
    # An owner's edit has no device of origin: every device in scope hears it.
    assert decode_hint(encode_hint("org/o1/catalog", 7, "")) == ("org/o1/catalog", 7, "")
    for foreign in ("", "org/o1/catalog", "org/o1/catalog x dev", "a 1 b c"):
        assert decode_hint(foreign) is None
