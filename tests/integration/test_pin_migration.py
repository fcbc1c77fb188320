"""Upgrading an org whose people document holds every PIN secret: real processes, old and new.

The previous release (``LEGACY``) writes the data: its relay mints the org's PIN pepper, store A
seeds the demo café, store B joins (its staff and PINs come from A) and its cashier sells. Then
the relay and both appliances start with this code on the same data. Each appliance moves the
verifiers of its own staff into its store's PIN document; once both have, the relay erases the
pepper and the verifiers from the people document and rewrites its stored history without them;
each appliance then purges its own copy. What stays: A's staff log in at A, B's owner and the
cashier who worked at B log in at B; B's manager logs in at B once B's owner sets a PIN there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.store import rowdata
from shared.schemas.documents import Employee, people_doc
from tests.relay.support import RelayServer
from tests.support.answers import expect_json
from tests.support.held import appliance_holds, relay_doc_holds
from tests.support.legacy import Release, edge_of_release, unpack
from tests.support.problems import assert_problem
from tests.support.sales import croissant_order
from tests.support.server import (
    CASHIER_PIN,
    KITCHEN_PIN,
    MANAGER_PIN,
    OWNER_PIN,
    SERVER_PIN,
    EdgeServer,
    Tablet,
    free_port,
    pair_tablet,
)
from tests.support.sync import FAST_SYNC, OWNER, rows, synced, wait_for

LEGACY = "d8a78a1"  # the last release whose org people documents held the PIN secrets
DEMO = {"Owner": OWNER_PIN, "Manager": MANAGER_PIN, "Cashier": CASHIER_PIN,
        "Server": SERVER_PIN, "Kitchen": KITCHEN_PIN}  # fmt: skip


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    code = unpack(LEGACY, tmp_path_factory.mktemp("legacy-code"))
    if code is None:
        pytest.skip(f"needs git and commit {LEGACY} of this repository")
    return Release(code)


def pin_login(tablet: Tablet, pin: str) -> httpx.Response:
    return tablet.http.post(
        "/api/v1/auth/pin", json={"pin": pin}, headers={"X-Device-Token": tablet.device_token}
    )


def legacy_secrets(server: EdgeServer, org_id: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """The org's pepper and each employee's (tag, hash), as the old appliance projected them."""
    ((pepper,),) = rows(
        server,
        "SELECT value FROM doc_values WHERE doc_id = ? AND key = 'pin_pepper'",
        people_doc(org_id),
    )
    staff = [rowdata.decode(d, Employee) for (d,) in rows(server, "SELECT data FROM employees")]
    verifiers = {e.name: (e.pin_tag, e.pin_hash) for e in staff}
    assert all(tag and pin_hash for tag, pin_hash in verifiers.values())
    return pepper.strip('"'), verifiers  # type: ignore[return-value]


@pytest.fixture
def upgraded(release: Release, tmp_path: Path) -> Iterator[dict[str, object]]:
    relay = RelayServer(tmp_path / "relay", env={"FYNLO_RELAY_COMPACT_INTERVAL_S": "0.2"})
    relay.data_dir.mkdir(parents=True)
    data = ["--data", str(relay.data_dir)]
    org_id = release.run(
        "fynlo-relay", "org", "create", *data, "--name", "Café Co",
        "--owner-email", OWNER["email"], "--owner-password", OWNER["password"],
    ).split()[-1]  # fmt: skip
    codes = [
        release.run("fynlo-relay", "store", "create", *data, "--org", org_id, "--name", n).split()
        for n in ("A", "B")
    ]
    old_relay = release.serve("fynlo-relay", relay.data_dir, relay.port, relay.log, {})
    servers = [EdgeServer(tmp_path / n, port=free_port(), env=FAST_SYNC) for n in ("a", "b")]
    try:
        for server, (_, code) in zip(servers, codes, strict=True):
            release.run("fynlo-edge", "enroll", "--data", str(server.data_dir),
                        "--relay", relay.url, "--code", code, "--demo")  # fmt: skip
            old = edge_of_release(release, server)
            try:
                # Codes from the command line: a back-office login would make its employee one
                # who works here, as the audit shows, and the migration would keep their PIN.
                def code(s: EdgeServer = server) -> str:
                    return release.run("fynlo-edge", "pairing-code", "--data", str(s.data_dir))

                tablet = pair_tablet(server, code=code().split()[-1])
                tablet.login(CASHIER_PIN)  # at B: the PIN set at A, as the old release allowed
                croissant_order(tablet)  # the cashier works here: the store's audit shows it
                owner = pair_tablet(server, code=code().split()[-1])
                owner.login(OWNER_PIN)
                wait_for(lambda o=owner: synced(o), "the old appliance to push")
            finally:
                old.stop()
        pepper, verifiers = legacy_secrets(servers[0], org_id)
    finally:
        old_relay.stop()
    relay.start()
    for server in servers:
        server.start()
    try:
        yield {
            "relay": relay, "org_id": org_id, "a": servers[0], "b": servers[1],
            "store_a": codes[0][0], "pepper": pepper, "verifiers": verifiers,
        }  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        relay.stop()


def test_an_upgrade_moves_pins_into_their_stores_and_erases_the_org_wide_ones(
    upgraded: dict[str, object],
) -> None:
    relay, a, b = upgraded["relay"], upgraded["a"], upgraded["b"]
    assert isinstance(relay, RelayServer) and isinstance(a, EdgeServer)
    assert isinstance(b, EdgeServer)
    pepper = str(upgraded["pepper"])
    verifiers: dict[str, tuple[str, str]] = upgraded["verifiers"]  # type: ignore[assignment]
    people = people_doc(str(upgraded["org_id"]))

    def purged(server: EdgeServer) -> bool:
        return rows(server, "SELECT 1 FROM meta WHERE key = 'pins_purge_pending'") == []

    wait_for(lambda: pepper.encode() not in relay_doc_holds(relay.data_dir, people), "the relay")
    wait_for(lambda: purged(a) and purged(b), "both appliances to purge their copies")

    # A keeps every PIN it set; B those of its owner and of the cashier who sold there.
    for name, pin in DEMO.items():
        assert expect_json(pin_login(pair_tablet(a), pin))["name"] == name
    till_b = pair_tablet(b)
    for name in ("Owner", "Cashier"):
        assert expect_json(pin_login(till_b, DEMO[name]))["name"] == name
    for name in ("Manager", "Server", "Kitchen"):
        assert_problem(pin_login(pair_tablet(b), DEMO[name]), 401, "wrong-pin")

    # Nothing of the old secrets is left where others can read it.
    at_relay = relay_doc_holds(relay.data_dir, people)
    held = {"relay": at_relay, "a": appliance_holds(a.data_dir), "b": appliance_holds(b.data_dir)}
    assert [where for where, found in held.items() if pepper.encode() in found] == []
    tags = [tag for tag, _ in verifiers.values()]  # keyed with the pepper: gone everywhere
    assert [w for w, found in held.items() for t in tags if t.encode() in found] == []
    assert [n for n, (_, h) in verifiers.items() if h.encode() in at_relay] == []
    # B never held, and holds no more, the verifiers of staff who do not work there.
    elsewhere = [verifiers[n][1] for n in ("Manager", "Server", "Kitchen")]
    assert [h for h in elsewhere if h.encode() in held["b"]] == []

    # B's owner gives the manager a PIN at B: from then on she logs in there too.
    owner_b = pair_tablet(b)
    owner_b.login(OWNER_PIN)
    manager = next(
        e for e in expect_json(owner_b.get("/api/v1/employees")) if e["name"] == "Manager"
    )
    assert manager["has_pin"] is False
    expect_json(owner_b.patch(f"/api/v1/employees/{manager['id']}", json={"pin": MANAGER_PIN}))
    assert expect_json(pin_login(pair_tablet(b), MANAGER_PIN))["name"] == "Manager"
    assert expect_json(pin_login(pair_tablet(a), MANAGER_PIN))["name"] == "Manager"


def test_a_store_with_no_relay_erases_the_old_secrets_itself(
    release: Release, tmp_path: Path
) -> None:
    data = tmp_path / "cafe"
    release.run("fynlo-edge", "init", "--data", str(data), "--demo")
    server = EdgeServer(data)
    ((org_id,),) = rows(server, "SELECT value FROM meta WHERE key = 'org_id'")
    pepper, verifiers = legacy_secrets(server, org_id)
    server.start()
    try:
        # It is the only replica: it erases them and purges its history before serving.
        held = appliance_holds(data)
        assert pepper.encode() not in held
        assert [n for n, (tag, _) in verifiers.items() if tag.encode() in held] == []
        for name, pin in DEMO.items():  # every PIN was set here: all of them still log in
            assert expect_json(pin_login(pair_tablet(server), pin))["name"] == name
    finally:
        server.stop()
