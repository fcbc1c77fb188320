"""One active appliance per store, against a real ``fynlo-relay serve`` process: a second
enrollment is refused, a replacement retires the old appliance, and owners list and revoke
appliances through the API and the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cloud.relay.cli import build_parser
from shared.schemas.sync import encode
from tests.relay.support import RelayServer, SyncClient, edits, push_request, relay_cli
from tests.support.problems import assert_problem
from tests.support.sync import Org, owner_client

OPEN: list[SyncClient] = []


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayServer]:
    with RelayServer(tmp_path_factory.mktemp("relay") / "data") as server:
        try:
            yield server
        finally:
            while OPEN:
                OPEN.pop().close()
        assert 'status="500"' not in httpx.get(f"{server.url}/metrics").text


@pytest.fixture(scope="module")
def org(relay: RelayServer) -> Org:
    return Org(relay)


@pytest.fixture(scope="module")
def owner(org: Org) -> Iterator[httpx.Client]:
    with owner_client(org.relay) as client:
        yield client


def enroll(relay: RelayServer, code: str, name: str = "appliance") -> httpx.Response:
    return httpx.post(f"{relay.url}/api/v1/devices/enroll", json={"code": code, "name": name})


def enrolled(relay: RelayServer, code: str, name: str = "appliance") -> SyncClient:
    response = enroll(relay, code, name)
    assert response.status_code == 201, response.text
    body = response.json()
    client = SyncClient(relay, body["token"], device_id=body["device_id"])
    OPEN.append(client)
    return client


def new_code(owner: httpx.Client, store_id: str, body: object = None) -> dict[str, object]:
    response = owner.post(f"/api/v1/stores/{store_id}/enrollment-codes", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def devices(owner: httpx.Client, store_id: str) -> list[tuple[str, bool]]:
    """(device id, active) of a store's appliances, oldest first."""
    response = owner.get(f"/api/v1/stores/{store_id}/devices")
    assert response.status_code == 200, response.text
    return [(d["id"], d["revoked_at_ms"] is None) for d in response.json()]


def test_a_second_appliance_is_refused_and_the_code_stays_unused(
    org: Org, owner: httpx.Client
) -> None:
    store_id, first = org.store()
    old = enrolled(org.relay, first, "old")
    code = new_code(owner, store_id)
    assert code["replace"] is False
    refused = assert_problem(enroll(org.relay, str(code["code"])), 409, "store-has-appliance")
    assert "replacement code" in str(refused["detail"])
    assert devices(owner, store_id) == [(old.device_id, True)]
    old.heads()  # the active appliance is untouched
    # The owner retires the old appliance: the refused code was not used up and now enrolls.
    revoked = owner.delete(f"/api/v1/devices/{old.device_id}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at_ms"] is not None
    assert_problem(old.http.get("/api/v1/sync/docs"), 401, "unauthorized")
    new = enrolled(org.relay, str(code["code"]), "new")
    assert devices(owner, store_id) == [(old.device_id, False), (new.device_id, True)]
    assert_problem(enroll(org.relay, str(code["code"])), 403, "enrollment-code-invalid")


def test_a_replacement_code_retires_the_old_appliance_as_the_new_one_enrolls(
    org: Org, owner: httpx.Client
) -> None:
    store_id, first = org.store()
    old = enrolled(org.relay, first, "old")
    doc_id = f"store/{store_id}/day/2025-05-01"
    old.push({doc_id: edits({"order-1": 1})[1]})
    ws_url = f"ws://127.0.0.1:{org.relay.port}/api/v1/sync/ws?token={old.token}"
    with connect(ws_url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        code = new_code(owner, store_id, {"replace": True})
        assert code["replace"] is True
        new = enrolled(org.relay, str(code["code"]), "new")
        with pytest.raises(ConnectionClosed) as closed:  # its hints end at once
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert_problem(old.http.get("/api/v1/sync/docs"), 401, "unauthorized")
    assert_problem(old.send("pull", b"\x80"), 401, "unauthorized")
    late = old.send("push", _push(doc_id, {"order-2": 2}))
    assert_problem(late, 401, "unauthorized")
    assert new.heads()[doc_id] == 1  # the new appliance has the day; the old one's late sale no
    assert devices(owner, store_id) == [(old.device_id, False), (new.device_id, True)]
    # The command line issues replacement codes too.
    out = relay_cli(
        "enrollment-code", "--data", str(org.relay.data_dir), "--store", store_id, "--replace"
    )
    third = enrolled(org.relay, out.stdout.strip(), "third")
    assert [active for _, active in devices(owner, store_id)] == [False, False, True]
    assert devices(owner, store_id)[-1][0] == third.device_id
    assert_problem(new.http.get("/api/v1/sync/docs"), 401, "unauthorized")


def _push(doc_id: str, values: dict[str, object]) -> bytes:
    return encode(push_request({doc_id: edits(values)[1]}))


def test_an_owner_lists_and_revokes_appliances_of_their_org_only(
    org: Org, owner: httpx.Client
) -> None:
    store_id, code = org.store()
    device = enrolled(org.relay, code, "front till")
    listed = owner.get(f"/api/v1/orgs/{org.id}/devices")
    assert listed.status_code == 200, listed.text
    mine = next(d for d in listed.json() if d["id"] == device.device_id)
    assert (mine["store_id"], mine["org_id"], mine["name"]) == (store_id, org.id, "front till")
    assert "token_hash" not in mine

    other_org = relay_cli(
        "org", "create", "--data", str(org.relay.data_dir), "--name", "Other",
        "--owner-email", "other@cafe.test", "--owner-password", "another-long-pass",
    ).stdout.split()[-1]  # fmt: skip
    token = httpx.post(
        f"{org.relay.url}/api/v1/auth/login",
        json={"email": "other@cafe.test", "password": "another-long-pass"},
    ).json()["access_token"]
    with httpx.Client(
        base_url=org.relay.url, headers={"Authorization": f"Bearer {token}"}
    ) as stranger:
        assert_problem(stranger.get(f"/api/v1/orgs/{org.id}/devices"), 403, "forbidden")
        assert_problem(stranger.get(f"/api/v1/stores/{store_id}/devices"), 403, "forbidden")
        assert_problem(stranger.delete(f"/api/v1/devices/{device.device_id}"), 403, "forbidden")
        assert_problem(stranger.delete("/api/v1/devices/no-such-device"), 403, "forbidden")
        assert stranger.get(f"/api/v1/orgs/{other_org}/devices").json() == []
    assert_problem(httpx.delete(f"{org.relay.url}/api/v1/devices/x"), 401, "unauthorized")
    device.heads()  # none of that touched it

    first = owner.delete(f"/api/v1/devices/{device.device_id}").json()["revoked_at_ms"]
    again = owner.delete(f"/api/v1/devices/{device.device_id}").json()["revoked_at_ms"]
    assert first == again  # revoking twice keeps the first time


def test_the_command_line_lists_and_revokes_appliances(org: Org) -> None:
    data = ["--data", str(org.relay.data_dir)]
    store_id, code = org.store()
    device = enrolled(org.relay, code, "back till")
    listing = relay_cli("device", "list", *data, "--org", org.id, "--store", store_id).stdout
    assert listing.splitlines() == [
        "\t".join([device.device_id, store_id, "back till", _line_time(listing), "active"])
    ]
    assert device.device_id in relay_cli("device", "list", *data, "--org", org.id).stdout
    out = relay_cli("device", "revoke", *data, "--device", device.device_id).stdout
    assert device.device_id in out and store_id in out
    assert_problem(device.http.get("/api/v1/sync/docs"), 401, "unauthorized")
    listing = relay_cli("device", "list", *data, "--org", org.id, "--store", store_id).stdout
    assert listing.split("\t")[-1].startswith("revoked 20")
    unknown = relay_cli("device", "revoke", *data, "--device", "nope", check=False)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    no_org = relay_cli("device", "list", *data, "--org", "nope", check=False)
    assert no_org.returncode == 2 and "nope" in no_org.stderr


def _line_time(listing: str) -> str:
    return listing.split("\t")[3]


def test_a_code_request_body_is_checked(org: Org, owner: httpx.Client) -> None:
    store_id, _ = org.store()
    url = f"/api/v1/stores/{store_id}/enrollment-codes"
    for body in ({"replace": "yes"}, {"replace": True, "extra": 1}, [True]):
        assert_problem(owner.post(url, json=body), 400, "bad-request")
    assert new_code(owner, store_id, {})["replace"] is False


def test_the_readme_documents_every_relay_command() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for command in _commands(build_parser()):
        assert f"| `{command} --data DIR" in readme, command


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Every runnable command of a parser, subcommands spelled out (``device list``)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return [prefix.strip()]
    return [
        command
        for name, sub in groups[0].choices.items()
        for command in _commands(sub, f"{prefix}{name} ")
    ]
