"""A PIN belongs to a store: real relay and appliances.

Two demo stores of one org. Each holds the PIN verifiers of the staff who work there, keyed with
a key of its own, in its own PIN document; the org's people document holds none. An employee hired
at A logs in at B once B's owner sets their PIN there; nothing B holds lets it work out A's PINs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pycrdt

from edge.app.auth.pins import pin_key
from edge.store.db import connect, db_path
from edge.store.documents import load_doc
from shared.legacy_pins import holds_pin_secrets
from shared.schemas.documents import people_doc, pins_doc
from tests.relay.support import RelayServer
from tests.support.answers import expect_json
from tests.support.held import appliance_holds, doc_ids, relay_doc_holds
from tests.support.problems import assert_problem
from tests.support.server import (
    CASHIER_PIN,
    KITCHEN_PIN,
    MANAGER_PIN,
    OWNER_PIN,
    SERVER_PIN,
    EdgeServer,
    Tablet,
    pair_tablet,
)
from tests.support.sync import Org, enroll, rows, synced, wait_for

DEMO_PINS = (OWNER_PIN, MANAGER_PIN, CASHIER_PIN, SERVER_PIN, KITCHEN_PIN)


def pin_login(tablet: Tablet, pin: str) -> httpx.Response:
    return tablet.http.post(
        "/api/v1/auth/pin", json={"pin": pin}, headers={"X-Device-Token": tablet.device_token}
    )


def store_secrets(server: EdgeServer, store_id: str) -> list[str]:
    """A store's PIN key and every verifier (tag and hash) its PIN document holds."""
    conn = connect(db_path(server.data_dir), writer=False)
    try:
        key = pin_key(conn, store_id)
        doc = load_doc(conn, pins_doc(store_id))
    finally:
        conn.close()
    assert key is not None
    found = [key]
    for employee_id, raw in doc.get("pins", type=pycrdt.Map).items():
        entry = msgspec.msgpack.decode(raw)  # positional: [id (nil), pin_hash, pin_tag]
        assert entry[1].startswith("$argon2id$"), employee_id
        found += [v for v in entry[1:] if v]
    return found


def test_a_pin_belongs_to_the_store_where_it_was_set(relay: RelayServer, tmp_path: Path) -> None:
    org = Org(relay)
    edge_a, store_a = enroll(org, tmp_path / "a")
    edge_b = None
    try:
        owner_a = pair_tablet(edge_a)
        owner_a.login(OWNER_PIN)
        wait_for(lambda: synced(owner_a), "store A to push its staff")
        edge_b, store_b = enroll(org, tmp_path / "b")
        owner_b = pair_tablet(edge_b)
        owner_b.login(OWNER_PIN)
        # The demo's staff work at every demo store, with the demo's (public) PINs.
        for server in (edge_a, edge_b):
            for pin in DEMO_PINS:
                expect_json(pin_login(pair_tablet(server), pin))

        # Erin is hired at A: her PIN works there, and not at B.
        erin = expect_json(
            owner_a.post(
                "/api/v1/employees", json={"name": "Erin", "role": "cashier", "pin": "6060"}
            ),
            201,
        )
        assert erin["has_pin"] is True
        expect_json(pin_login(pair_tablet(edge_a), "6060"))
        wait_for(lambda: synced(owner_a), "A to push the hire")
        wait_for(
            lambda: (
                rows(edge_b, "SELECT name FROM employees WHERE id = ?", erin["id"]) == [("Erin",)]
            ),
            "the hire to reach B",
        )
        till_b = pair_tablet(edge_b)
        assert_problem(pin_login(till_b, "6060"), 401, "wrong-pin")
        assert expect_json(owner_b.get(f"/api/v1/employees/{erin['id']}"))["has_pin"] is False

        # B's owner sets her PIN at B (the same digits, as she asked): she logs in at both.
        patched = owner_b.patch(f"/api/v1/employees/{erin['id']}", json={"pin": "6060"})
        assert expect_json(patched)["has_pin"] is True
        assert expect_json(pin_login(till_b, "6060"))["employee_id"] == erin["id"]
        # A new PIN at A changes nothing at B: each store keeps its own.
        expect_json(owner_a.patch(f"/api/v1/employees/{erin['id']}", json={"pin": "7070"}))
        expect_json(pin_login(pair_tablet(edge_a), "7070"))
        assert_problem(pin_login(pair_tablet(edge_a), "6060"), 401, "wrong-pin")
        wait_for(lambda: synced(owner_a) and synced(owner_b), "both stores to push")
        assert expect_json(pin_login(till_b, "6060"))["employee_id"] == erin["id"]
        assert_problem(pin_login(till_b, "7070"), 401, "wrong-pin")

        # Nothing B holds lets it work out A's PINs: neither A's PIN document, nor A's key, nor
        # any verifier A made (the demo staff's included: B hashed their PINs itself).
        a_secrets = store_secrets(edge_a, store_a)
        assert pins_doc(store_a) not in doc_ids(edge_b.data_dir)
        held_by_b = appliance_holds(edge_b.data_dir)
        assert [s for s in a_secrets if s.encode() in held_by_b] == []
        held_by_a = appliance_holds(edge_a.data_dir)
        assert [s for s in store_secrets(edge_b, store_b) if s.encode() in held_by_a] == []
        # The org's people document, at the relay and on each appliance, holds no PIN secret.
        people = people_doc(org.id)
        at_relay = relay_doc_holds(relay.data_dir, people)
        assert at_relay and [s for s in a_secrets if s.encode() in at_relay] == []
        for server in (edge_a, edge_b):
            conn = connect(db_path(server.data_dir), writer=False)
            try:
                assert not holds_pin_secrets(load_doc(conn, people))
            finally:
                conn.close()
    finally:
        if edge_b is not None:
            edge_b.stop()
        edge_a.stop()


def _employee(tablet: Tablet, employee_id: str) -> dict[str, Any]:
    return dict(expect_json(tablet.get(f"/api/v1/employees/{employee_id}")))
